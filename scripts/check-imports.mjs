// Enforces the dependency direction schemas -> libs -> services (see HOUSE-STYLE.md):
//   - libs import only other libs; services import libs, never another service;
//   - workspace packages are imported by their public entry point only (no deep paths);
//   - relative imports never leave their package;
//   - libraries never read process.env (config is parsed once, in each service's main).
// Imports are read with the TypeScript compiler's own pre-processor, not regexes.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const kinds = { libs: 'lib', services: 'service', test: 'test', bench: 'bench' };

function packagesUnder(dir) {
  const abs = join(root, dir);
  return readdirSync(abs)
    .filter((d) => statSync(join(abs, d)).isDirectory())
    .map((d) => join(abs, d));
}

const packages = new Map(); // name -> { dir, kind }
for (const dir of [...packagesUnder('libs'), ...packagesUnder('services'), join(root, 'test'), join(root, 'bench')]) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const kind = kinds[relative(root, dir).split(sep)[0]];
  packages.set(pkg.name, {
    dir,
    kind,
    deps: { ...pkg.dependencies, ...pkg.devDependencies },
    entries: Object.keys(pkg.exports ?? { '.': '' }),
  });
}

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const problems = [];

function withoutComments(text) {
  // The scanner knows strings from comments; regexes would not.
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  let out = '';
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) out += `${scanner.getTokenText()} `;
  return out;
}
for (const [name, { dir, kind, deps }] of packages) {
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const where = relative(root, file);
    const isTest = file.endsWith('.test.ts');
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(dir + sep)) problems.push(`${where}: relative import ${spec} leaves package ${name}`);
        continue;
      }
      const m = /^(@agentgate\/[^/]+)(\/.*)?$/.exec(spec);
      if (!m) continue;
      const [, target, deep] = m;
      if (target === '@agentgate/schemas') {
        if (kind !== 'lib') problems.push(`${where}: only libs read the schemas package`);
        continue;
      }
      const targetPkg = packages.get(target);
      if (!targetPkg) {
        problems.push(`${where}: unknown workspace package ${target}`);
        continue;
      }
      // A subpath counts as public only when the package declares it in its exports (e.g. ./testing).
      if (deep && !targetPkg.entries.includes(`.${deep}`))
        problems.push(`${where}: deep import ${spec}; use the package's public entry point`);
      if (targetPkg.kind === 'service') problems.push(`${where}: ${name} imports service ${target}; services are never imported`);
      if (!(target in deps)) problems.push(`${where}: ${target} is imported but not declared in ${name}'s package.json`);
    }
    if (kind === 'lib' && !isTest && /\bprocess\s*\.\s*env\b/.test(withoutComments(text)))
      problems.push(`${where}: libraries never read process.env`);
  }
}

if (problems.length > 0) {
  console.error(`import direction check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`import direction check passed (${packages.size} packages)`);
