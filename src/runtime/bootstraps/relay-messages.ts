/**
 * What the custom runtime's relay and Sluice say on the relay's IPC channel: Sluice asks for a connection
 * (`{ type: 'connect' }`), and the relay answers each ask once with a connection to the function's server
 * (its socket sent with the message) or the reason it could not open one. Answers may come in another order
 * than the asks: any connection serves any ask.
 */
export type ConnectionReply = { type: 'connection' } | { type: 'connectionFailed'; message: string };
