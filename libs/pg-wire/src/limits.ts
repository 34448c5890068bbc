/**
 * Default limit on a message's length field (which counts itself): the server's
 * PQ_LARGE_MESSAGE_LIMIT, MaxAllocSize - 1, the most it accepts for Query, Parse, Bind or CopyData.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 0x3fffffff - 1;
/** Default limit on a startup packet, the server's MAX_STARTUP_PACKET_LENGTH. */
export const DEFAULT_MAX_STARTUP_BYTES = 10_000;
/** The server's PG_MAX_AUTH_TOKEN_LENGTH: the most it reads of a password or SASL message. */
export const MAX_AUTH_MESSAGE_BYTES = 65_535;
