// `agentgate policy test <dir>`: compiles a policy directory and runs the test cases kept
// beside its rules (what `opa test` is to Rego). Exit 0 when every case passes, 1 when the
// policy does not compile or any case fails; each failure names the rule that did decide.
import { compilePolicy, runPolicyTests, type AnalyzeSql } from '@agentgate/policy';
import { loadSqlParser } from '@agentgate/sql';
import { basename, resolve } from 'node:path';
import { EXIT } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';
import { readPolicyDir } from './policy-toolkit.js';

export interface PolicyTestOptions {
  dir: string;
  json: boolean;
  /** Print passing cases too. */
  verbose: boolean;
}

/** libs/sql's synchronous parser and statement facts, as the processor sees SQL. */
export async function sqlAnalyzer(): Promise<AnalyzeSql> {
  const parser = await loadSqlParser();
  return (sql) => {
    const c = parser.classify(sql);
    return c.ok ? c.statements.map((s) => s.facts) : 'unparseable';
  };
}

export async function policyTest(o: PolicyTestOptions, io: CliIo, analyze?: AnalyzeSql): Promise<number> {
  const files = await readPolicyDir(o.dir);
  const compiled = compilePolicy(files, { name: basename(resolve(o.dir)) });
  if (!compiled.ok) {
    if (o.json) printJson(io, { ok: false, errors: compiled.errors });
    else for (const e of compiled.errors) io.err(`${e.file}:${e.line}: ${e.message}\n`);
    if (!o.json) io.err(`agentgate policy test: the policy in ${o.dir} does not compile (${compiled.errors.length} errors)\n`);
    return EXIT.failure;
  }
  const results = runPolicyTests(compiled.policy, compiled.tests, analyze ?? (await sqlAnalyzer()));
  const failed = results.filter((r) => !r.pass);
  const version = compiled.policy.version;
  if (o.json) {
    printJson(io, {
      ok: failed.length === 0,
      version,
      passed: results.length - failed.length,
      failed: failed.length,
      results: results.map((r) => ({ name: r.name, pass: r.pass, source: r.source, expected: r.expected, actual: r.actual })),
    });
  } else {
    for (const r of results) {
      if (r.pass) {
        if (o.verbose) io.out(`ok    ${r.name}\n`);
        continue;
      }
      const sets = (m: readonly string[]): string => ` masking [${m.join(', ')}]`;
      const want = `${r.expected.decision}${r.expected.rule !== undefined ? ` by ${r.expected.rule ?? 'the default'}` : ''}${r.expected.masking ? sets(r.expected.masking) : ''}`;
      const got = `${r.actual.decision} by ${r.actual.rule ?? 'the default'}${r.expected.masking ? sets(r.actual.masking) : ''}`;
      io.out(
        `FAIL  ${r.name} (${r.source.file}:${r.source.line})\n` +
          `      expected ${want}\n` +
          `      got      ${got}: ${r.actual.reason}\n`,
      );
    }
    const summary = `${results.length - failed.length} passed, ${failed.length} failed (${version}, ${results.length} cases)\n`;
    if (failed.length === 0) io.out(summary);
    else io.err(summary);
  }
  return failed.length === 0 ? EXIT.ok : EXIT.failure;
}
