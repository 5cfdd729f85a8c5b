/**
 * What the custom runtime's relay and Sluice say on the relay's IPC channel: Sluice asks for a connection
 * (`{ type: 'connect' }`), and the relay answers each ask, in order, with a connection to the function's
 * server (its socket sent with the message) or the reason it could not open one.
 */
export type ConnectionReply = { type: 'connection' } | { type: 'connectionFailed'; message: string };
