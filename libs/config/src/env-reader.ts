// Reads a service's settings from an environment map given to it (libraries never read
// process.env themselves). Collects every problem, then fails once with all of them.
import { readFileSync } from 'node:fs';
import { GatewayError } from '@agentgate/errors';

export type EnvMap = Readonly<Record<string, string | undefined>>;

/** Typed accessors over an environment map; call `done()` to get the frozen result or one error. */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: EnvMap) {}

  string(name: string, fallback?: string): string {
    const value = this.env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name} is required`);
    return '';
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      this.problems.push(`${name} must be an integer, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    if ((range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
      this.problems.push(`${name} must be within [${range.min ?? '-inf'}, ${range.max ?? 'inf'}], got ${value}`);
    }
    return value;
  }

  /** true/false, on/off, yes/no, 1/0. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const word = raw.trim().toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(word)) return true;
    if (['false', 'off', 'no', '0'].includes(word)) return false;
    this.problems.push(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    return fallback;
  }

  list(name: string, fallback?: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required (comma-separated)`);
      return [];
    }
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  url(name: string, fallback?: string): string {
    const value = this.string(name, fallback);
    if (value !== '') {
      try {
        new URL(value);
      } catch {
        this.problems.push(`${name} must be a URL, got ${JSON.stringify(value)}`);
      }
    }
    return value;
  }

  /**
   * The contents of the file the variable names (a secret kept in a file, so it is not in
   * the environment of every child process), without a trailing newline; '' when unset.
   */
  fileText(name: string, options: { required?: boolean } = {}): string {
    const path = this.env[name];
    if (path === undefined || path === '') {
      if (options.required) this.problems.push(`${name} is required (a file path)`);
      return '';
    }
    try {
      const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      if (text === '') this.problems.push(`${name}: ${path} is empty`);
      return text;
    } catch (err) {
      this.problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return '';
    }
  }

  /** Records a problem found while combining settings. */
  problem(text: string): void {
    this.problems.push(text);
  }

  /** Freezes the config, or throws AG_ERR_CONFIG_INVALID naming every problem. */
  done<T extends object>(config: T): Readonly<T> {
    if (this.problems.length > 0) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `invalid configuration: ${this.problems.join('; ')}`);
    }
    return Object.freeze(config);
  }
}
