// The SQL facts rules match on: libs/sql computes them from the whole parse tree
// (`statementFacts(tree)`, `StatementInfo.facts`); re-exported here with helpers for
// hand-built facts in tests and tools.

import { noStatementFlags, type StatementClass, type StatementFacts } from '@agentgate/sql';

export type { NameRef, StatementClass, StatementFacts } from '@agentgate/sql';

/** Every statement class, in the order docs list them. */
export const CLASS_NAMES: readonly StatementClass[] = [
  'select',
  'insert',
  'update',
  'delete',
  'merge',
  'ddl',
  'dcl',
  'copy',
  'utility',
  'transaction',
  'unknown',
];

export type StatementFlags = StatementFacts['flags'];

/** Boolean flags a rule may test (prepares/executes are names, tested as "is set"). */
export const BOOLEAN_FLAGS = [
  'updateWithoutWhere',
  'deleteWithoutWhere',
  'copyProgram',
  'copyFile',
  'dynamicSql',
  'routineDefinition',
  'explainAnalyze',
  'writeInCte',
  'lockingRead',
  'searchPathChange',
  'roleChange',
  'call',
  'truncate',
  'prepares',
  'executes',
] as const;
export type FlagName = (typeof BOOLEAN_FLAGS)[number];

/** Facts with every flag off: a base for hand-built facts in tests and tools. */
export function emptyFacts(kind: string, classes: StatementClass[] = []): StatementFacts {
  return {
    kind,
    classes,
    reads: [],
    writes: [],
    locks: [],
    functions: [],
    flags: noStatementFlags(),
    unknownKinds: [],
    schemaChanges: [],
  };
}
