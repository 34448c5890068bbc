// The few parts of mvdan-sh (GopherJS build of mvdan.cc/sh/v3/syntax, CommonJS, untyped) this
// library uses. Nodes are Go structs behind getters: fields are read by name, per node type.
declare module 'mvdan-sh' {
  /** Any syntax node; fields depend on `syntax.NodeType(node)`. */
  // biome-ignore lint/suspicious/noExplicitAny: Go structs seen through GopherJS have no static shape
  export type Node = any;
  export interface Parser {
    /** Throws a Go error object (not an Error) on a syntax error. */
    Parse(text: string, name: string): Node;
  }
  const sh: {
    syntax: {
      NewParser(...options: unknown[]): Parser;
      NodeType(node: Node): string;
    };
  };
  export default sh;
}
