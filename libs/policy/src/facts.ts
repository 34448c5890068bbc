// The SQL facts rules match on. libs/sql computes them from the whole parse tree
// (`statementFacts(tree)`); this is the same interface, declared here so the policy engine
// can be built and tested before that export lands. Structural typing keeps the two
// interchangeable; once '@agentgate/sql' exports it, this file re-exports it instead.

/** A relation or function name as written; `schema` null means unqualified. */
export interface NameRef {
  schema: string | null;
  name: string;
}

export type StatementClass =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'ddl'
  | 'dcl'
  | 'copy'
  | 'utility'
  | 'transaction'
  | 'unknown';

export const STATEMENT_CLASSES: readonly StatementClass[] = [
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

export interface StatementFlags {
  updateWithoutWhere: boolean;
  deleteWithoutWhere: boolean;
  copyProgram: boolean;
  copyFile: boolean;
  dynamicSql: boolean;
  routineDefinition: boolean;
  explainAnalyze: boolean;
  writeInCte: boolean;
  lockingRead: boolean;
  searchPathChange: boolean;
  roleChange: boolean;
  prepares: string | null;
  executes: string | null;
  call: boolean;
  truncate?: boolean;
}

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

export interface StatementFacts {
  kind: string;
  classes: StatementClass[];
  reads: NameRef[];
  writes: NameRef[];
  locks: NameRef[];
  functions: NameRef[];
  flags: StatementFlags;
  unknownKinds: string[];
}

/** Facts with every flag off: a base for hand-built facts in tests and tools. */
export function emptyFacts(kind: string, classes: StatementClass[] = []): StatementFacts {
  return {
    kind,
    classes,
    reads: [],
    writes: [],
    locks: [],
    functions: [],
    flags: {
      updateWithoutWhere: false,
      deleteWithoutWhere: false,
      copyProgram: false,
      copyFile: false,
      dynamicSql: false,
      routineDefinition: false,
      explainAnalyze: false,
      writeInCte: false,
      lockingRead: false,
      searchPathChange: false,
      roleChange: false,
      prepares: null,
      executes: null,
      call: false,
      truncate: false,
    },
    unknownKinds: [],
  };
}
