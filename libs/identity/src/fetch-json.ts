/** Largest discovery or JWKS document read; real ones are a few KiB, this bounds a misbehaving IdP. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/**
 * GETs a JSON document with a timeout that covers connect, headers and body, and a size cap
 * enforced while streaming. Throws a plain Error (with the cause) on any failure; the caller
 * decides what that means (IdP unavailable).
 */
export async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel();
    throw new Error(`GET ${url}: document larger than ${MAX_DOCUMENT_BYTES} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body !== null) {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      // Leaving the loop by throwing cancels the stream (the iterator's return()).
      if (size > MAX_DOCUMENT_BYTES) throw new Error(`GET ${url}: document larger than ${MAX_DOCUMENT_BYTES} bytes`);
      chunks.push(chunk);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (cause) {
    throw new Error(`GET ${url}: body is not JSON`, { cause });
  }
}
