// HTML to PDF through headless Chromium (Debian's `chromium` package). The page is written to
// a private temp directory and printed from a file:// URL; the report HTML loads nothing else
// (its CSP forbids it), so no network is involved. Chromium runs in its own process group so a
// timeout can end the browser and every helper process it started.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GatewayError } from '@agentgate/errors';

export interface PdfOptions {
  /** The Chromium binary: a path or a name looked up in PATH (default `chromium`). */
  chromiumPath?: string;
  /** How long printing may take before Chromium is killed (default 60 s). */
  timeoutMs?: number;
  /** Where the private working directory is made (default the OS temp dir). */
  tmpDir?: string;
}

/**
 * The flags for one print. Chromium >= 112 (Debian 12 ships current releases) takes
 * `--headless` as the new headless mode, where `--no-pdf-header-footer` drops the date/URL
 * lines; `--no-sandbox` because the CLI may run as root (in CI, in containers); a throwaway
 * profile so no user profile is read, locked or written.
 */
export function chromiumArgs(htmlFile: string, pdfFile: string, profileDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-extensions',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    '--mute-audio',
    `--user-data-dir=${profileDir}`,
    '--no-pdf-header-footer',
    `--print-to-pdf=${pdfFile}`,
    pathToFileURL(htmlFile).href,
  ];
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  timedOut: boolean;
}

function runChromium(binary: string, args: string[], timeoutMs: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Only the tail is kept, for the error message.
      stderr = (stderr + chunk).slice(-4000);
    });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Helpers (zygote, crashpad) may outlive the browser; the group goes with it.
      killGroup();
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

function lastLines(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.slice(-3).join(' | ');
}

/** Prints `html` to PDF with headless Chromium and returns the PDF's bytes. */
export async function htmlToPdf(html: string, options: PdfOptions = {}): Promise<Buffer> {
  const binary = options.chromiumPath ?? 'chromium';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'agentgate-report-'));
  try {
    const htmlFile = join(dir, 'report.html');
    const pdfFile = join(dir, 'report.pdf');
    await writeFile(htmlFile, html, { mode: 0o600 });
    let exit: Exit;
    try {
      exit = await runChromium(binary, chromiumArgs(htmlFile, pdfFile, join(dir, 'profile')), timeoutMs);
    } catch (cause) {
      const code = (cause as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        throw new GatewayError(
          'AG_ERR_CONFIG_INVALID',
          `cannot run Chromium (${binary}: ${String(code)}); install it (apt-get install chromium) or name the binary with --chromium <path>`,
          { cause },
        );
      }
      throw new GatewayError('AG_ERR_INTERNAL', `cannot run Chromium (${binary})`, { cause });
    }
    if (exit.timedOut) {
      throw new GatewayError('AG_ERR_INTERNAL', `Chromium did not print the report within ${timeoutMs} ms and was stopped`, {
        retriable: true,
      });
    }
    let pdf: Buffer;
    try {
      pdf = await readFile(pdfFile);
    } catch {
      pdf = Buffer.alloc(0);
    }
    if (exit.code !== 0 || pdf.subarray(0, 5).toString('latin1') !== '%PDF-') {
      const how = exit.code === null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
      throw new GatewayError('AG_ERR_INTERNAL', `Chromium printed no PDF (${how}): ${lastLines(exit.stderr) || 'no message'}`);
    }
    return pdf;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
