// The core's configuration checks count bytes with Node's Buffer; the console imports only types from that
// module (through the core's model), so this declaration exists only for the type checker.
declare const Buffer: { byteLength(text: string): number };
