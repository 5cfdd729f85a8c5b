/** The one small JSON handler every scenario serves, so that the numbers compare like with like. */
export const NODE_HANDLER = `exports.handler = async (event, context) => ({ hello: 'world', requestId: context.requestId });\n`;

export const PYTHON_HANDLER = `def handler(event, context):\n    return {"hello": "world", "requestId": context.request_id}\n`;
