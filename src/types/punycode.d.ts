// The npm "punycode" package (not Node's deprecated built-in), imported by file path so that Node
// never resolves it to the core module.
declare module "punycode/punycode.js" {
  const punycode: {
    toASCII(domain: string): string;
    toUnicode(domain: string): string;
  };
  export default punycode;
}
