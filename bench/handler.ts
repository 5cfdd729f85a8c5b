/** The one small JSON handler every scenario serves, so that the numbers compare like with like. */
export const NODE_HANDLER = `exports.handler = async (event, context) => ({ hello: 'world', requestId: context.requestId });\n`;

export const PYTHON_HANDLER = `def handler(event, context):\n    return {"hello": "world", "requestId": context.request_id}\n`;

export const PHP_HANDLER = `<?php\nfunction handler($event, $context) {\n    return ['hello' => 'world', 'requestId' => $context['requestId']];\n}\n`;

/** The same handler in C#, as Function Compute's C# handlers are written; Sluice compiles it. */
export const CSHARP_HANDLER = `using System.Collections.Generic;
using System.IO;
using Aliyun.Serverless.Core;

namespace Bench
{
    public class Handler
    {
        public object Handle(Stream input, IFcContext context)
        {
            return new Dictionary<string, object> { { "hello", "world" }, { "requestId", context.RequestId } };
        }
    }
}
`;

/** A custom runtime's bootstrap: the same answer from Python's own HTTP server, as a user might bring one. */
export const CUSTOM_BOOTSTRAP = `#!/usr/bin/env python3
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the relay's delayed ACK.
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length') or 0))
        body = json.dumps({'hello': 'world', 'requestId': self.headers.get('x-fc-request-id')}).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

HTTPServer(('127.0.0.1', int(os.environ.get('FC_SERVER_PORT', '9000'))), Handler).serve_forever()
`;
