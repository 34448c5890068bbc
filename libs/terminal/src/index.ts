export {
  CONTEXT_CHARS,
  DEFAULT_MAX_HOLD_BYTES,
  StreamMasker,
  type StreamMaskerOptions,
  TAIL_CHARS,
} from './stream-masker.js';
export { type CastHeader, castEventLine, castHeader, castSeconds, castText, parseSize } from './asciicast.js';
export { finalScreen, type PlayOptions, play } from './replay.js';
