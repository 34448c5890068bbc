/** Default limit on a message's length field: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Default limit on a startup packet, the server's MAX_STARTUP_PACKET_LENGTH. */
export const DEFAULT_MAX_STARTUP_BYTES = 10_000;
