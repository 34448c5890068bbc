// The `policy publish` and `policy replay` subcommands (the pipeline around the policy
// language; `policy test` is declared beside them in program.ts).
import { type Command, Option } from 'commander';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure } from './exit-codes.js';
import type { CliIo } from './output.js';
import { policyPublish } from './policy-publish.js';
import { parseTime, policyReplay } from './policy-replay.js';

export interface PolicyPipelineContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
}

/** Adds `publish` and `replay` under the `policy` command. */
export function registerPolicyPipeline(policy: Command, ctx: PolicyPipelineContext): void {
  policy
    .command('publish')
    .description('publish a tested policy to every policy processor (administrators only; needs AGENTGATE_TOKEN)')
    .helpOption('-h, --help', 'show help for this command')
    .argument('<dir>', 'the policy directory (rules and tests)')
    .option('--shadow', 'publish as the shadow policy: its verdicts are recorded beside the live ones, never enforced')
    .option('--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN')
    .option('--json', 'print one JSON document on stdout and nothing else')
    .addHelpText(
      'after',
      '\nExamples:\n  export AGENTGATE_TOKEN=$(npx agentgate token erin)\n  npx agentgate policy publish deploy/policies/demo\n' +
        '  npx agentgate policy publish ./candidate --shadow\n\n' +
        "The policy's tests run first; a policy that does not compile or fails a test is not published (exit 1).\n" +
        'Processors decide with the new version as soon as they read it, without a restart.\n',
    )
    .action(async (dir: string, o: { shadow?: boolean; tokenFile?: string; json?: boolean }) => {
      try {
        ctx.setExit(
          await policyPublish(ctx.configOf(), { dir, shadow: o.shadow === true, tokenFile: o.tokenFile, json: o.json === true }, ctx.io),
        );
      } catch (error) {
        // Named here: the top level names only the first word of a command.
        const { exitCode, text } = describeFailure('policy publish', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });

  policy
    .command('replay')
    .description('re-decide recorded requests with a candidate policy and show what would change')
    .helpOption('-h, --help', 'show help for this command')
    .requiredOption('--policy <dir>', 'the candidate policy directory')
    .requiredOption('--since <time>', 'ISO 8601 time, or a duration back from now (30m, 2h, 7d)')
    .option('--until <time>', 'end of the window (default: now)')
    .option('--connection <name>', 'only requests to this connection')
    .addOption(new Option('--examples <n>', 'examples per change').default(3).argParser((v) => Math.max(0, Math.min(100, Number(v) || 0))))
    .option('--json', 'print one JSON document on stdout and nothing else')
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate policy replay --policy ./candidate --since 7d\n' +
        '  npx agentgate policy replay --policy ./candidate --since 2026-11-01T00:00:00Z --until 2026-11-02T00:00:00Z --json\n\n' +
        'Exit codes: 0 no decision would change, 1 some would, 2 error (so CI can gate on it).\n',
    )
    .action(async (o: { policy: string; since: string; until?: string; connection?: string; examples: number; json?: boolean }) => {
      try {
        const config = ctx.configOf();
        const now = Date.now();
        const options = {
          policyDir: o.policy,
          sinceUs: parseTime(o.since, now),
          untilUs: o.until === undefined ? now * 1000 + 1 : parseTime(o.until, now),
          connection: o.connection,
          examples: o.examples,
          json: o.json === true,
        };
        ctx.setExit(await ctx.withAudit((audit) => policyReplay(audit, config.clickhouseDatabase, options, ctx.io)));
      } catch (error) {
        // 1 means "something would change": any error must say something else.
        ctx.io.err(describeFailure('policy replay', error).text);
        ctx.setExit(EXIT.usage);
      }
    });
}
