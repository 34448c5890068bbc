// The thin, impure edge of policy as code: reads a policy directory's *.yaml / *.yml files
// and hands their names and texts to compilePolicy.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { compilePolicy, type CompileResult, type PolicyFile } from './compile.js';

/** Reads the policy files of `dir` (not recursive), in name order. */
export async function readPolicyDir(dir: string): Promise<PolicyFile[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
}

/** Reads and compiles a policy directory; the directory's name is the default policy name. */
export async function loadPolicyDir(dir: string): Promise<CompileResult & { files: PolicyFile[] }> {
  const files = await readPolicyDir(dir);
  return { ...compilePolicy(files, { name: basename(resolve(dir)) }), files };
}
