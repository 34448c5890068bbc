// The package's public entry: the command line as a function, for tests and embedding.
export { run, buildProgram, COMMANDS, type RunContext } from './program.js';
export { EXIT, type ExitCode } from './exit-codes.js';
