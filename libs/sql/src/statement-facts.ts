// What a statement does, read from its whole parse tree: the facts policy rules match on
// (classes, relations read/written/locked, functions called, risky shapes). A keyword or
// top-level-kind check is what attackers walk around (a DELETE in a CTE, pg_read_file in a
// SELECT list, a table read inside a LATERAL subquery); the tree is not.
//
// Pure: no parser is imported here (importing libpg-query starts loading its WebAssembly, which
// the parser worker must watch first). A parse function may be passed in to read the bodies of
// LANGUAGE sql functions written as strings; without one such a body counts as dynamic SQL.
//
// Trees are libpg-query 17 JSON. A node in a field of type Node is wrapped, `{ SelectStmt: {...} }`;
// a field of a concrete struct type is not (`relation: { relname, ... }`, `larg: { ...select }`,
// `funccall: { funcname, ... }`). The walk is iterative: trees can be deeper than the stack.

/** A name as the parser gives it (already case-folded unless quoted); schema null when unqualified. */
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

export interface StatementFacts {
  /** The top-level parse node name (SelectStmt, ...). */
  kind: string;
  /**
   * Classes of this statement and of every statement nested in it, deduplicated, own class first.
   * Nested means in a statement position: a CTE body, the query of EXPLAIN, PREPARE, DECLARE,
   * CREATE TABLE AS / VIEW or COPY, CREATE RULE actions, CREATE SCHEMA elements, a LANGUAGE sql
   * function body. A subquery in an expression, FROM or INSERT ... SELECT is part of its
   * statement, not a statement of its own: it adds reads, not the class 'select'.
   */
  classes: StatementClass[];
  /**
   * Relations read anywhere in the statement: FROM/JOIN/subqueries/CTE bodies/LATERAL/COPY TO/
   * INSERT ... SELECT sources, view and rule definitions, function bodies. A name that refers to
   * a WITH item in scope is not a relation. The targets of UPDATE, DELETE and MERGE are read as
   * well as written (their WHERE and RETURNING reveal rows), and so is an INSERT target with
   * RETURNING or ON CONFLICT.
   */
  reads: NameRef[];
  /**
   * Relations written: INSERT/UPDATE/DELETE/MERGE targets (also inside CTEs, EXPLAIN ANALYZE,
   * PREPARE, rule actions and function bodies; not under a plain EXPLAIN, which does not run
   * them), COPY FROM targets, TRUNCATE, SELECT INTO, CREATE TABLE (AS) and parents it inherits
   * from or is a partition of, CREATE/ALTER/DROP/RENAME of tables, views, sequences, the table of
   * an index, trigger, rule or policy, VACUUM/CLUSTER/REINDEX targets, GRANT ON TABLE objects.
   * DROP INDEX names the index (its table is not in the statement).
   */
  writes: NameRef[];
  /** Relations locked by SELECT ... FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE, and LOCK TABLE. */
  locks: NameRef[];
  /**
   * Functions (and procedures) called anywhere: FuncCall nodes (also in DEFAULT/CHECK
   * expressions and FROM), CALL, the function a trigger or event trigger executes. Operators are
   * not included, nor a function called in attribute notation (`t.f` for `f(t)`).
   */
  functions: NameRef[];
  /** Schemas created, dropped, renamed, moved into (SET SCHEMA), or granted on (ON SCHEMA, ALL ... IN SCHEMA). */
  schemaChanges: string[];
  flags: {
    /** An UPDATE with no WHERE of its own, anywhere (a WHERE inside a subquery does not count). */
    updateWithoutWhere: boolean;
    /** A DELETE with no WHERE of its own. `WHERE true` is a WHERE: truthiness is not judged. */
    deleteWithoutWhere: boolean;
    /** COPY ... PROGRAM */
    copyProgram: boolean;
    /** COPY to/from a server file (not STDIN/STDOUT) */
    copyFile: boolean;
    /**
     * DO blocks, and anything that runs SQL text the gateway cannot see: a function body in a
     * language other than sql (plpgsql, C, ...), a sql body that could not be parsed, calls of
     * dblink*, query_to_xml and relatives, ts_stat/ts_rewrite: treated as unknown writes by policy.
     */
    dynamicSql: boolean;
    /** CREATE FUNCTION/PROCEDURE/RULE/TRIGGER (and CREATE EVENT TRIGGER), OR REPLACE included */
    routineDefinition: boolean;
    /** EXPLAIN with ANALYZE of any statement */
    explainAnalyze: boolean;
    /** a data-modifying statement inside a WITH */
    writeInCte: boolean;
    /** SELECT ... FOR UPDATE/SHARE */
    lockingRead: boolean;
    /**
     * SET/RESET [LOCAL|SESSION] search_path, SET SCHEMA, set_config('search_path', ...) or
     * set_config with a non-literal name, ALTER ROLE/DATABASE/SYSTEM ... SET search_path, RESET ALL,
     * DISCARD ALL. Not `CREATE/ALTER FUNCTION ... SET search_path`: that holds inside the function only.
     */
    searchPathChange: boolean;
    /** SET ROLE, SET SESSION AUTHORIZATION, RESET ROLE, set_config('role', ...), DISCARD ALL, ALTER ROLE/DATABASE ... SET role */
    roleChange: boolean;
    /** PREPARE name */
    prepares: string | null;
    /** EXECUTE name (SQL-level; also CREATE TABLE AS EXECUTE, EXPLAIN EXECUTE) */
    executes: string | null;
    /** CALL */
    call: boolean;
    /** TRUNCATE (its class is ddl; PostgreSQL's log_statement counts it as mod) */
    truncate: boolean;
  };
  /** Parse-node kinds of statements the analysis does not understand (a new PostgreSQL statement, ...): their presence makes the class 'unknown' too. Policy denies unknowns unless a rule names them. */
  unknownKinds: string[];
}

/** Options of statementFacts. */
export interface StatementFactsOptions {
  /**
   * libpg-query's parseSync, to read LANGUAGE sql function bodies given as strings. Without it
   * such a body is dynamic SQL (the gateway cannot see it).
   */
  parse?: (sql: string) => unknown;
  /**
   * Called when a fact depends on the value of a literal (a string body, EXPLAIN (ANALYZE 0),
   * set_config's setting name), not only on the tree's shape. Statements whose facts read no
   * literal may share their facts with every text of the same shape (sql-shape.ts).
   */
  onLiteralRead?: () => void;
  /** The statement's kind, when `tree` is the node's body (StatementInfo.tree) rather than the wrapped node. */
  kind?: string;
}

/**
 * The class of each statement kind of the PostgreSQL 17 grammar (libpg-query 17 / @pgsql/types
 * 17). A kind not here is 'unknown'. SelectStmt with INTO is ddl (it is CREATE TABLE AS).
 */
/** Every flag off: the start of an analysis, and a base for facts built by hand. */
export function noStatementFlags(): StatementFacts['flags'] {
  return {
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
  };
}

export const STATEMENT_KIND_CLASSES: Readonly<Record<string, StatementClass>> = Object.freeze({
  SelectStmt: 'select',
  // RETURN expr, the body of a LANGUAGE sql function written in the SQL standard's form.
  ReturnStmt: 'select',
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
  CopyStmt: 'copy',
  // Transaction control; SET CONSTRAINTS changes when this transaction checks constraints.
  TransactionStmt: 'transaction',
  ConstraintsSetStmt: 'transaction',
  // Privileges, roles and ownership.
  GrantStmt: 'dcl',
  GrantRoleStmt: 'dcl',
  AlterDefaultPrivilegesStmt: 'dcl',
  CreateRoleStmt: 'dcl',
  AlterRoleStmt: 'dcl',
  AlterRoleSetStmt: 'dcl',
  DropRoleStmt: 'dcl',
  ReassignOwnedStmt: 'dcl',
  DropOwnedStmt: 'dcl',
  SecLabelStmt: 'dcl',
  // Session, planning, maintenance, cursors and prepared statements.
  VariableSetStmt: 'utility',
  VariableShowStmt: 'utility',
  ExplainStmt: 'utility',
  ListenStmt: 'utility',
  UnlistenStmt: 'utility',
  NotifyStmt: 'utility',
  DiscardStmt: 'utility',
  VacuumStmt: 'utility',
  ClusterStmt: 'utility',
  ReindexStmt: 'utility',
  CheckPointStmt: 'utility',
  LoadStmt: 'utility',
  LockStmt: 'utility',
  PrepareStmt: 'utility',
  ExecuteStmt: 'utility',
  DeallocateStmt: 'utility',
  DeclareCursorStmt: 'utility',
  FetchStmt: 'utility',
  ClosePortalStmt: 'utility',
  CallStmt: 'utility',
  DoStmt: 'utility',
  // Schema objects: everything that creates, alters, drops, renames or comments on one.
  TruncateStmt: 'ddl',
  CreateStmt: 'ddl',
  CreateTableAsStmt: 'ddl',
  AlterTableStmt: 'ddl',
  ReplicaIdentityStmt: 'ddl',
  DropStmt: 'ddl',
  RenameStmt: 'ddl',
  CommentStmt: 'ddl',
  IndexStmt: 'ddl',
  ViewStmt: 'ddl',
  RuleStmt: 'ddl',
  RefreshMatViewStmt: 'ddl',
  CreateSchemaStmt: 'ddl',
  CreateSeqStmt: 'ddl',
  AlterSeqStmt: 'ddl',
  CreateFunctionStmt: 'ddl',
  AlterFunctionStmt: 'ddl',
  CreateTrigStmt: 'ddl',
  CreateEventTrigStmt: 'ddl',
  AlterEventTrigStmt: 'ddl',
  CreatePolicyStmt: 'ddl',
  AlterPolicyStmt: 'ddl',
  DefineStmt: 'ddl',
  CreateDomainStmt: 'ddl',
  AlterDomainStmt: 'ddl',
  CompositeTypeStmt: 'ddl',
  CreateEnumStmt: 'ddl',
  AlterEnumStmt: 'ddl',
  CreateRangeStmt: 'ddl',
  AlterTypeStmt: 'ddl',
  AlterCollationStmt: 'ddl',
  CreateOpClassStmt: 'ddl',
  CreateOpFamilyStmt: 'ddl',
  AlterOpFamilyStmt: 'ddl',
  AlterOperatorStmt: 'ddl',
  CreateConversionStmt: 'ddl',
  CreateCastStmt: 'ddl',
  CreateTransformStmt: 'ddl',
  CreatePLangStmt: 'ddl',
  CreateAmStmt: 'ddl',
  CreateStatsStmt: 'ddl',
  AlterStatsStmt: 'ddl',
  AlterTSDictionaryStmt: 'ddl',
  AlterTSConfigurationStmt: 'ddl',
  CreateExtensionStmt: 'ddl',
  AlterExtensionStmt: 'ddl',
  AlterExtensionContentsStmt: 'ddl',
  CreateFdwStmt: 'ddl',
  AlterFdwStmt: 'ddl',
  CreateForeignServerStmt: 'ddl',
  AlterForeignServerStmt: 'ddl',
  CreateForeignTableStmt: 'ddl',
  CreateUserMappingStmt: 'ddl',
  AlterUserMappingStmt: 'ddl',
  DropUserMappingStmt: 'ddl',
  ImportForeignSchemaStmt: 'ddl',
  CreatePublicationStmt: 'ddl',
  AlterPublicationStmt: 'ddl',
  CreateSubscriptionStmt: 'ddl',
  AlterSubscriptionStmt: 'ddl',
  DropSubscriptionStmt: 'ddl',
  CreateTableSpaceStmt: 'ddl',
  DropTableSpaceStmt: 'ddl',
  AlterTableSpaceOptionsStmt: 'ddl',
  AlterTableMoveAllStmt: 'ddl',
  CreatedbStmt: 'ddl',
  AlterDatabaseStmt: 'ddl',
  AlterDatabaseSetStmt: 'ddl',
  AlterDatabaseRefreshCollStmt: 'ddl',
  DropdbStmt: 'ddl',
  AlterSystemStmt: 'ddl',
  AlterObjectDependsStmt: 'ddl',
  AlterObjectSchemaStmt: 'ddl',
  AlterOwnerStmt: 'ddl',
});

/** Functions that run SQL given as text, or read tables named by a string: what they do is not in the tree. */
const DYNAMIC_SQL_FUNCTIONS = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
]);

/** RENAME of these changes a relation's name (not a column, constraint, trigger, rule or policy of it). */
const RENAMED_RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);

/** Relation kinds whose DROP names relations (DROP INDEX names the index). */
const DROPPED_RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);

/** Objects of a table whose DROP changes that table. */
const DROPPED_FROM_RELATIONS = new Set(['OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);

/** Function bodies nested deeper than this (a function that creates a function ...) count as dynamic SQL. */
const MAX_BODY_DEPTH = 8;

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

type Json = Record<string, unknown>;
type Role = 'read' | 'write' | 'lock' | 'readwrite';

/** WITH names visible at a point of the tree; an unqualified FROM name found here is not a relation. */
interface Scope {
  names: ReadonlySet<string>;
  parent: Scope | null;
}

interface Context {
  scope: Scope | null;
  /** false under a plain EXPLAIN: the statement is planned, not run, so it writes and locks nothing. */
  runs: boolean;
  /** LANGUAGE sql bodies entered to get here. */
  bodyDepth: number;
}

/** A unit of work: a value of the tree, and what is known about where it sits. */
interface Item {
  value: unknown;
  ctx: Context;
  /** The kind of an unwrapped node whose type the field tells (larg/rarg of a SELECT, ...). */
  kind?: string;
  /** The node and field this value sits in, for fields whose RangeVars have a special role. */
  parent?: string;
  field?: string;
  /** A statement in a statement position (see StatementFacts.classes). */
  statement?: boolean;
}

/** Wrapped RangeVars whose role the field decides, by `Parent.field`; any other wrapped one is read. */
const WRAPPED_RANGEVAR_ROLES: Readonly<Record<string, Role>> = {
  'LockStmt.relations': 'lock',
  'TruncateStmt.relations': 'write',
  'GrantStmt.objects': 'write',
  // A child's rows show in its parent's scans: inheriting from (or attaching to) a table changes it.
  'CreateStmt.inhRelations': 'write',
  'AlterTableCmd.def': 'write',
};

/** Unwrapped RangeVars that are read; any other unwrapped one (relation, view, sequence, into.rel, ...) is written. */
const UNWRAPPED_RANGEVAR_READS = new Set(['TableLikeClause.relation', 'Constraint.pktable']);

class Collector {
  readonly classes = new Set<StatementClass>();
  readonly unknownKinds = new Set<string>();
  readonly reads = new NameSet();
  readonly writes = new NameSet();
  readonly locks = new NameSet();
  readonly functions = new NameSet();
  readonly schemaChanges = new Set<string>();
  readonly flags: StatementFacts['flags'] = noStatementFlags();
  private readonly stack: Item[] = [];

  constructor(
    private readonly parse: ((sql: string) => unknown) | undefined,
    /** Called whenever a fact depends on a literal's value, not only on the tree's shape. */
    private readonly literalRead: () => void,
  ) {}

  run(first: Item): void {
    this.stack.push(first);
    for (let item = this.stack.pop(); item !== undefined; item = this.stack.pop()) this.visit(item);
  }

  /** Pushes items so that they are visited in the order given (the stack is LIFO). */
  private push(items: Item[]): void {
    for (let i = items.length - 1; i >= 0; i--) this.stack.push(items[i]!);
  }

  private visit(item: Item): void {
    const { value } = item;
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        const v: unknown = value[i];
        if (v !== null && typeof v === 'object')
          this.stack.push({ value: v, ctx: item.ctx, parent: item.parent, field: item.field, statement: item.statement });
      }
      return;
    }
    if (item.kind !== undefined) {
      this.node(item.kind, value as Json, item);
      return;
    }
    // A wrapped node has one key, its type name (capitalised); a struct's fields are not capitalised.
    let only: string | undefined;
    for (const key in value) {
      if (only !== undefined) {
        only = undefined;
        break;
      }
      only = key;
    }
    if (only !== undefined && isUpper(only.charCodeAt(0))) {
      const body = (value as Json)[only];
      if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        this.node(only, body as Json, item);
        return;
      }
    }
    if (isRangeVar(value)) {
      // A RangeVar in a field of type RangeVar: the object of a statement, unless listed.
      this.relation(value, UNWRAPPED_RANGEVAR_READS.has(`${item.parent}.${item.field}`) ? 'read' : 'write', item.ctx);
      return;
    }
    this.fields(value as Json, item.parent, item.ctx);
  }

  /**
   * Walks the fields of a node (or of an unwrapped struct inside `parent`), in tree order. A field
   * in `special` is replaced by the items given for it (none: skipped).
   */
  private fields(node: Json, parent: string | undefined, ctx: Context, special?: ReadonlyMap<string, Item[]>): void {
    const items: Item[] = [];
    for (const field in node) {
      const instead = special?.get(field);
      const value = node[field];
      if (instead !== undefined) items.push(...instead);
      else if (value !== null && typeof value === 'object') items.push({ value, ctx, parent, field });
    }
    this.push(items);
  }

  private node(kind: string, node: Json, item: Item): void {
    const { ctx } = item;
    if (kind === 'RangeVar') {
      const role = WRAPPED_RANGEVAR_ROLES[`${item.parent}.${item.field}`] ?? 'read';
      if (role === 'read' && node.schemaname === undefined && inScope(ctx.scope, str(node.relname))) return;
      this.relation(node, role, ctx);
      return;
    }
    if (kind === 'List') {
      // A list keeps the place of its container (BEGIN ATOMIC's statements are a List of Lists).
      this.push(asArray(node.items).map((value) => ({ ...item, value, kind: undefined })));
      return;
    }
    if (kind === 'FuncCall') {
      this.funcCall(node);
      this.fields(node, kind, ctx);
      return;
    }
    if (!kind.endsWith('Stmt')) {
      this.fields(node, kind, ctx);
      return;
    }
    this.statement(kind, node, item);
  }

  private statement(kind: string, node: Json, item: Item): void {
    const { ctx } = item;
    const known = STATEMENT_KIND_CLASSES[kind];
    if (known === undefined) this.unknownKinds.add(kind);
    // SELECT INTO is CREATE TABLE AS. A SELECT that is part of another (subquery, UNION branch,
    // INSERT source) is not a statement of its own: it adds reads, not a class.
    if (kind === 'SelectStmt' && node.intoClause != null) this.classes.add('ddl');
    if (item.statement || kind !== 'SelectStmt') this.classes.add(known ?? 'unknown');

    const inner = withScope(node, ctx);
    // Fields read here, or walked with a context of their own: what each is replaced by, in tree order.
    const special = new Map<string, Item[]>();
    const skip = (...fields: string[]): void => {
      for (const f of fields) special.set(f, []);
    };
    const statementAt = (field: string, c: Context = inner): void => {
      special.set(field, node[field] == null ? [] : [{ value: node[field], ctx: c, parent: kind, field, statement: true }]);
    };
    const target = (role: Role): void => {
      skip('relation');
      if (isRangeVar(node.relation)) this.relation(node.relation, role, ctx);
    };

    switch (kind) {
      case 'SelectStmt': {
        const locking = asArray(node.lockingClause);
        // Names after FOR UPDATE OF are FROM items (aliases), not relations of their own.
        skip('lockingClause');
        if (locking.length > 0) {
          this.flags.lockingRead = true;
          if (ctx.runs) for (const rv of lockedRelations(node, locking, inner.scope)) this.locks.add(nameOf(rv));
        }
        // UNION/INTERSECT/EXCEPT branches are unwrapped selects.
        for (const side of ['larg', 'rarg']) {
          special.set(side, node[side] == null ? [] : [{ value: node[side], ctx: inner, kind: 'SelectStmt', parent: kind, field: side }]);
        }
        break;
      }
      case 'InsertStmt':
        target(node.returningList != null || node.onConflictClause != null ? 'readwrite' : 'write');
        break;
      case 'UpdateStmt':
      case 'DeleteStmt':
        target('readwrite');
        if (node.whereClause == null) {
          if (kind === 'UpdateStmt') this.flags.updateWithoutWhere = true;
          else this.flags.deleteWithoutWhere = true;
        }
        break;
      case 'MergeStmt':
        target('readwrite');
        break;
      case 'CopyStmt':
        target(node.is_from === true ? 'write' : 'read');
        statementAt('query');
        if (node.is_program === true) this.flags.copyProgram = true;
        else if (typeof node.filename === 'string') this.flags.copyFile = true;
        break;
      case 'ExplainStmt': {
        const analyze = explainAnalyze(node.options, this.literalRead);
        if (analyze) this.flags.explainAnalyze = true;
        statementAt('query', { ...inner, runs: ctx.runs && analyze });
        break;
      }
      case 'PrepareStmt':
        this.flags.prepares ??= str(node.name) ?? null;
        statementAt('query');
        break;
      case 'ExecuteStmt':
        this.flags.executes ??= str(node.name) ?? null;
        break;
      case 'DeclareCursorStmt':
      case 'CreateTableAsStmt':
      case 'ViewStmt':
        statementAt('query');
        break;
      case 'CreateSchemaStmt':
        this.schema(node.schemaname);
        statementAt('schemaElts');
        break;
      case 'CallStmt': {
        this.flags.call = true;
        const call = node.funccall;
        special.set('funccall', call == null ? [] : [{ value: { FuncCall: call }, ctx: inner, parent: kind, field: 'funccall' }]);
        break;
      }
      case 'DoStmt':
        this.flags.dynamicSql = true;
        break;
      case 'CreateFunctionStmt':
        this.flags.routineDefinition = true;
        // The name is defined here, not called; the options hold the language and body.
        skip('funcname');
        // The body takes the place of the options (AS '...') or of sql_body (BEGIN ATOMIC, RETURN).
        special.set('options', node.sql_body == null ? this.functionBody(node, ctx) : []);
        special.set('sql_body', node.sql_body == null ? [] : this.functionBody(node, ctx));
        break;
      case 'AlterFunctionStmt':
        // ALTER FUNCTION ... SET search_path holds inside the function only.
        skip('actions');
        break;
      case 'CreateTrigStmt':
      case 'CreateEventTrigStmt':
        this.flags.routineDefinition = true;
        skip('funcname');
        if (Array.isArray(node.funcname)) this.functions.add(qualified(node.funcname));
        break;
      case 'RuleStmt':
        this.flags.routineDefinition = true;
        // Rule actions see NEW and OLD, not the WITH names of whatever fires them.
        statementAt('actions', { ...ctx, scope: null });
        break;
      case 'VariableSetStmt':
        this.variableSet(node);
        break;
      case 'AlterRoleSetStmt':
      case 'AlterDatabaseSetStmt':
      case 'AlterSystemStmt':
        // The SET applies to later sessions; it is a clause here, not a statement of its own.
        skip('setstmt');
        if (node.setstmt !== null && typeof node.setstmt === 'object') this.variableSet(node.setstmt as Json);
        break;
      case 'DiscardStmt':
        // DISCARD ALL includes SET SESSION AUTHORIZATION DEFAULT and RESET ALL.
        if (node.target === 'DISCARD_ALL') {
          this.flags.searchPathChange = true;
          this.flags.roleChange = true;
        }
        break;
      case 'TruncateStmt':
        this.flags.truncate = true;
        break;
      case 'DropStmt':
        skip('objects');
        this.dropped(node, ctx);
        break;
      case 'RenameStmt':
        if (node.renameType === 'OBJECT_SCHEMA') {
          this.schema(node.subname);
          this.schema(node.newname);
        } else if (isRangeVar(node.relation) && typeof node.newname === 'string' && RENAMED_RELATIONS.has(str(node.renameType) ?? '')) {
          skip('relation');
          this.relation(node.relation, 'write', ctx);
          this.write({ schema: nameOf(node.relation).schema, name: node.newname }, ctx);
        }
        break;
      case 'AlterObjectSchemaStmt':
        this.schema(node.newschema);
        if (isRangeVar(node.relation) && typeof node.newschema === 'string') {
          skip('relation');
          this.relation(node.relation, 'write', ctx);
          this.write({ schema: node.newschema, name: nameOf(node.relation).name }, ctx);
        }
        break;
      case 'GrantStmt':
        if (node.objtype === 'OBJECT_SCHEMA' || node.targtype === 'ACL_TARGET_ALL_IN_SCHEMA') {
          skip('objects');
          for (const o of asArray(node.objects)) this.schema(stringValue(o));
        }
        break;
      default:
        break;
    }
    if (node.withClause != null) special.set('withClause', this.ctes(node.withClause as Json, ctx, kind));
    this.fields(node, kind, inner, special);
  }

  /** The CTE bodies of a WITH: statements, each seeing the names before it (all of them when RECURSIVE). */
  private ctes(withClause: Json, ctx: Context, parent: string): Item[] {
    const out: Item[] = [];
    const ctes = asArray(withClause.ctes).map((c) => ((c as Json).CommonTableExpr ?? {}) as Json);
    const names = ctes.map((c) => str(c.ctename) ?? '');
    const recursive = withClause.recursive === true;
    ctes.forEach((cte, i) => {
      const visible = new Set(recursive ? names : names.slice(0, i));
      const scope: Scope | null = visible.size > 0 ? { names: visible, parent: ctx.scope } : ctx.scope;
      const query = cte.ctequery as Json | undefined;
      const kind = query ? Object.keys(query)[0] : undefined;
      if (kind !== undefined && DML.has(kind)) this.flags.writeInCte = true;
      if (query != null) out.push({ value: query, ctx: { ...ctx, scope }, parent, field: 'ctequery', statement: true });
      // SEARCH/CYCLE clauses and column lists hold no relations or calls.
    });
    return out;
  }

  /** A function's body: LANGUAGE sql is read (BEGIN ATOMIC from the tree, a string by parsing it); any other is dynamic SQL. */
  private functionBody(node: Json, ctx: Context): Item[] {
    const at = (value: unknown, field: string): Item => ({ value, ctx: bodyCtx, parent: 'CreateFunctionStmt', field, statement: true });
    const bodyCtx: Context = { scope: null, runs: ctx.runs, bodyDepth: ctx.bodyDepth + 1 };
    if (node.sql_body != null) return [at(node.sql_body, 'sql_body')];
    // The language and a string body are literals: what they say decides the facts.
    this.literalRead();
    const options = asArray(node.options).map((o) => ((o as Json).DefElem ?? {}) as Json);
    const language = options.find((o) => o.defname === 'language');
    const lang = language ? stringValue(language.arg)?.toLowerCase() : undefined;
    const as = options.find((o) => o.defname === 'as');
    if (as === undefined) return [];
    // A string body without LANGUAGE is refused by the server; reading it as sql is harmless.
    if (lang !== undefined && lang !== 'sql') {
      this.flags.dynamicSql = true;
      return [];
    }
    const parts = asArray(((as.arg as Json | undefined)?.List as Json | undefined)?.items).map(stringValue);
    const text = parts.length === 1 ? parts[0] : undefined;
    if (text === undefined || this.parse === undefined || bodyCtx.bodyDepth > MAX_BODY_DEPTH) {
      this.flags.dynamicSql = true;
      return [];
    }
    try {
      return asArray((this.parse(text) as Json).stmts).map((s) => at((s as Json).stmt, 'as'));
    } catch (err) {
      // A body with a syntax error is one the gateway cannot see. Any other failure (out of
      // memory, a trap) may have damaged the parser: it goes to whoever owns the parser (the
      // pool replaces the worker), and the statement is unparseable.
      const e = err as { name?: unknown; message?: unknown } | null;
      if (e?.name !== 'SqlError' || /memory|buffer/i.test(String(e.message))) throw err;
      this.flags.dynamicSql = true;
      return [];
    }
  }

  private funcCall(node: Json): void {
    const ref = qualified(asArray(node.funcname));
    this.functions.add(ref);
    const name = ref.name.toLowerCase();
    if (name.startsWith('dblink') || DYNAMIC_SQL_FUNCTIONS.has(name)) this.flags.dynamicSql = true;
    if (name === 'set_config') {
      this.literalRead();
      const setting = literalString(asArray(node.args)[0])?.toLowerCase();
      if (setting === undefined || setting === 'search_path') this.flags.searchPathChange = true;
      if (setting === undefined || setting === 'role' || setting === 'session_authorization') this.flags.roleChange = true;
    }
  }

  private variableSet(node: Json): void {
    const name = str(node.name)?.toLowerCase();
    if (node.kind === 'VAR_RESET_ALL' || name === 'search_path') this.flags.searchPathChange = true;
    if (name === 'role' || name === 'session_authorization') this.flags.roleChange = true;
  }

  private dropped(node: Json, ctx: Context): void {
    const type = str(node.removeType);
    if (type === 'OBJECT_SCHEMA') {
      for (const o of asArray(node.objects)) this.schema(stringValue(o));
      return;
    }
    // DROP TRIGGER/RULE/POLICY name ON table: the list is the table's name, then the object's.
    const onTable = type !== undefined && DROPPED_FROM_RELATIONS.has(type);
    if (!onTable && (type === undefined || !DROPPED_RELATIONS.has(type))) return;
    for (const o of asArray(node.objects)) {
      const items = asArray(((o as Json).List as Json | undefined)?.items);
      const name = onTable ? items.slice(0, -1) : items;
      if (name.length > 0) this.write(qualified(name), ctx);
    }
  }

  private schema(name: unknown): void {
    if (typeof name === 'string') this.schemaChanges.add(name);
  }

  private write(ref: NameRef, ctx: Context): void {
    if (ctx.runs) this.writes.add(ref);
  }

  private relation(rv: Json, role: Role, ctx: Context): void {
    const ref = nameOf(rv);
    if (role === 'read' || role === 'readwrite') this.reads.add(ref);
    if ((role === 'write' || role === 'readwrite') && ctx.runs) this.writes.add(ref);
    if (role === 'lock' && ctx.runs) this.locks.add(ref);
  }
}

/** NameRefs deduplicated by (schema, name), first occurrence first. */
class NameSet {
  private readonly seen = new Set<string>();
  readonly list: NameRef[] = [];
  add(ref: NameRef): void {
    const key = `${ref.schema ?? ''}\u0000${ref.schema === null ? 0 : 1}\u0000${ref.name}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(ref);
  }
}

/**
 * The facts of one statement's parse tree (a node of libpg-query's `stmts[i].stmt`, wrapped
 * `{ SelectStmt: {...} }` or the node's body as StatementInfo.tree holds it, given its kind).
 * Pure and deterministic: lists are in tree order, without duplicates.
 */
export function statementFacts(tree: Record<string, unknown>, options: StatementFactsOptions = {}): StatementFacts {
  const keys = Object.keys(tree);
  const wrapped = options.kind === undefined && keys.length === 1 && /^[A-Z]/.test(keys[0]!);
  const kind = options.kind ?? (wrapped ? keys[0]! : 'Unknown');
  const body = (wrapped ? tree[kind] : tree) as Json;
  const c = new Collector(options.parse, options.onLiteralRead ?? (() => {}));
  c.run({ value: body, kind, ctx: { scope: null, runs: true, bodyDepth: 0 }, statement: true });
  // A top-level node the walk did not take for a statement is one it does not understand.
  if (c.classes.size === 0) c.unknownKinds.add(kind);
  if (c.unknownKinds.size > 0) c.classes.add('unknown');
  return {
    kind,
    classes: [...c.classes],
    reads: c.reads.list,
    writes: c.writes.list,
    locks: c.locks.list,
    functions: c.functions.list,
    schemaChanges: [...c.schemaChanges],
    flags: c.flags,
    unknownKinds: [...c.unknownKinds],
  };
}

/** The scope inside a statement with a WITH clause: its names over the enclosing ones. */
function withScope(node: Json, ctx: Context): Context {
  const w = node.withClause as Json | undefined;
  if (w == null) return ctx;
  const names = new Set(asArray(w.ctes).map((c) => str(((c as Json).CommonTableExpr as Json | undefined)?.ctename) ?? ''));
  return { ...ctx, scope: { names, parent: ctx.scope } };
}

function inScope(scope: Scope | null, name: string | undefined): boolean {
  if (name === undefined) return false;
  for (let s = scope; s !== null; s = s.parent) if (s.names.has(name)) return true;
  return false;
}

/**
 * The relations a SELECT's locking clauses lock: those of its FROM (through joins and FROM
 * subqueries), narrowed to the names after OF. A clause without OF locks all of them, and so
 * does a name that matches nothing (the server refuses it; this only errs towards more).
 */
function lockedRelations(select: Json, locking: unknown[], scope: Scope | null): Json[] {
  const items: { name: string | undefined; relations: Json[] }[] = [];
  const pending: unknown[] = [...asArray(select.fromClause)].reverse();
  while (pending.length > 0) {
    const v = pending.pop() as Json | undefined;
    if (v == null || typeof v !== 'object') continue;
    if (v.RangeVar) {
      const rv = v.RangeVar as Json;
      if (rv.schemaname === undefined && inScope(scope, str(rv.relname))) continue;
      items.push({ name: str((rv.alias as Json | undefined)?.aliasname) ?? str(rv.relname), relations: [rv] });
    } else if (v.JoinExpr) {
      const j = v.JoinExpr as Json;
      pending.push(j.rarg, j.larg);
    } else if (v.RangeSubselect) {
      const s = v.RangeSubselect as Json;
      items.push({ name: str((s.alias as Json | undefined)?.aliasname), relations: allRangeVars(s.subquery) });
    }
  }
  const all = items.flatMap((i) => i.relations);
  const named = locking.map((l) => asArray(((l as Json).LockingClause as Json | undefined)?.lockedRels));
  if (named.some((rels) => rels.length === 0)) return all;
  const names = new Set(named.flat().map((n) => str(((n as Json).RangeVar as Json | undefined)?.relname)));
  const chosen = items.filter((i) => i.name !== undefined && names.has(i.name));
  return chosen.length > 0 ? chosen.flatMap((i) => i.relations) : all;
}

/** Every wrapped RangeVar under a value. */
function allRangeVars(value: unknown): Json[] {
  const out: Json[] = [];
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) pending.push(v[i]);
      continue;
    }
    const rv = (v as Json).RangeVar;
    if (rv !== undefined && Object.keys(v).length === 1) {
      out.push(rv as Json);
      continue;
    }
    const children = Object.values(v);
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]);
  }
  return out;
}

/** EXPLAIN's ANALYZE option: on unless its argument says off (false, off, 0, no). */
function explainAnalyze(options: unknown, literalRead: () => void): boolean {
  let on = false;
  for (const o of asArray(options)) {
    const d = ((o as Json).DefElem ?? {}) as Json;
    if (d.defname !== 'analyze') continue;
    const arg = d.arg as Json | undefined;
    if (arg != null) literalRead();
    if (arg == null) on = true;
    else if (arg.Integer !== undefined) on = ((arg.Integer as Json).ival ?? 0) !== 0;
    else if (arg.Boolean !== undefined) on = (arg.Boolean as Json).boolval === true;
    else on = !['false', 'off', '0', 'no', 'f', 'n'].includes(stringValue(arg)?.toLowerCase() ?? '');
  }
  return on;
}

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

function isRangeVar(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && typeof (v as Json).relname === 'string';
}

function nameOf(rv: Json): NameRef {
  return { schema: str(rv.schemaname) ?? null, name: str(rv.relname) ?? '' };
}

/** A dotted name from a list of String nodes: the last part is the name, the one before it the schema (a catalog before that is dropped). */
function qualified(parts: readonly unknown[]): NameRef {
  const names = parts.map(stringValue);
  return { schema: names.length > 1 ? (names[names.length - 2] ?? null) : null, name: names[names.length - 1] ?? '' };
}

/** The text of a String node. */
function stringValue(v: unknown): string | undefined {
  return str(((v as Json | null)?.String as Json | undefined)?.sval);
}

/** The value of a string literal ('x' or 'x'::type); undefined for anything else. */
function literalString(v: unknown): string | undefined {
  let node = v as Json | undefined;
  const cast = node?.TypeCast as Json | undefined;
  if (cast) node = cast.arg as Json | undefined;
  const c = node?.A_Const as Json | undefined;
  return str((c?.sval as Json | undefined)?.sval);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
