"""Sluice's Python runtime bootstrap: runs one function instance, speaking docs/runtime-protocol.md on fd 3.

Started as `python3 -s -u bootstrap.py`, ahead of its function when it is a standby. Standard library only,
Python 3.9+. What only some instances need (threads for concurrency, tracebacks, importing a file by path) is
imported when needed: an import costs a cold start milliseconds.
"""
import _thread
import importlib
import io
import json
import os
import struct
import sys
import time
from types import SimpleNamespace

# A standby started as root will change users on its init, and then needs prctl: loaded now, while it waits.
if os.getuid() == 0:
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
else:
    def prctl(*args):
        raise PermissionError('only a bootstrap started as root can change users')

LOG_CAP = 1 << 20
TRUNCATED = b'[sluice] log output truncated at 1 MiB\n'
# A partial line this long is sent anyway, so output that never ends a line cannot grow without bound.
PARTIAL_LINE_CAP = 64 << 10
PREFIX = struct.Struct('>II')
THIS_FILE = os.path.abspath(__file__)


class Channel:
    """The frame socket on fd 3, read and written as a file (the socket module costs a start milliseconds)."""

    def __init__(self, fd):
        self._fd = fd
        # The end the server hands over may be non-blocking; reads and writes here must block.
        os.set_blocking(fd, True)
        self._in = os.fdopen(fd, 'rb', closefd=False)
        self._lock = _thread.allocate_lock()

    def read(self):
        """The next frame as (header, body); EOFError once the server has gone."""
        header_length, body_length = PREFIX.unpack(self._read(PREFIX.size))
        header = json.loads(self._read(header_length))
        return header, self._read(body_length)

    def _read(self, n):
        try:
            data = self._in.read(n)
        except OSError:
            data = b''
        if len(data) < n:
            raise EOFError
        return data

    def send(self, header, body=b''):
        head = json.dumps(header, separators=(',', ':')).encode()
        # Concatenating costs less than a second system call, even for a body of a few megabytes.
        frame = PREFIX.pack(len(head), len(body)) + head + body
        try:
            with self._lock:
                view = memoryview(frame)
                while view:
                    view = view[os.write(self._fd, view):]
        except OSError:
            # The server is gone: nobody is left to answer, so stop rather than run handlers for no one.
            os._exit(0)


class Invocation(_thread._local):
    """What the current thread is running: the id its log lines are tagged with, and its log budget."""

    id = None
    logged = 0
    truncated = False


class PartialLine(_thread._local):
    text = ''


class LogStream(io.TextIOBase):
    """Replaces sys.stdout/sys.stderr: whole lines go out as log frames of the thread's invocation."""

    encoding = 'utf-8'
    errors = 'backslashreplace'

    def __init__(self, name):
        self.name = name
        # Per thread, so that concurrent invocations never splice their half lines together.
        self._partial = PartialLine()

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError('write() argument must be str, not ' + type(s).__name__)
        text = self._partial.text + s
        end = text.rfind('\n') + 1
        if end == 0 and len(text) >= PARTIAL_LINE_CAP:
            end = len(text)
        if end:
            send_log(self.name, text[:end])
            text = text[end:]
        self._partial.text = text
        return len(s)

    def flush(self):
        text = self._partial.text
        if text:
            self._partial.text = ''
            send_log(self.name, text)


channel = None
current = Invocation()
stdout = LogStream('stdout')
stderr = LogStream('stderr')


def send_log(stream, text):
    data = text.encode('utf-8', 'backslashreplace')
    inv = current
    if inv.id is not None:
        if inv.truncated:
            return
        room = LOG_CAP - inv.logged
        if len(data) > room:
            inv.truncated = True
            # Cut on a character boundary, and keep the marker on a line of its own.
            data = data[:room].decode('utf-8', 'ignore').encode()
            data += TRUNCATED if not data or data.endswith(b'\n') else b'\n' + TRUNCATED
        inv.logged += len(data)
    channel.send({'type': 'log', 'id': inv.id, 'stream': stream}, data)


def error_fields(exc, message=None):
    """errorMessage, errorType and stackTrace of an exception, without the bootstrap's and importlib's frames."""
    import traceback

    report = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    report.stack = traceback.StackSummary.from_list(
        [f for f in report.stack if f.filename != THIS_FILE and not f.filename.startswith('<frozen importlib')]
    )
    return {
        'errorMessage': str(exc) if message is None else message,
        'errorType': type(exc).__name__,
        'stackTrace': ''.join(report.format()).splitlines(),
    }


def load_handler(spec, code_dir):
    module_name, _, attribute = spec.rpartition('.')
    if not module_name or not attribute:
        raise ValueError('the handler %r is not of the form "module.function"' % spec)
    if '/' in module_name:
        from importlib.util import module_from_spec, spec_from_file_location

        path = os.path.join(code_dir, module_name + '.py')
        if not os.path.isfile(path):
            raise ModuleNotFoundError('the code has no file %s.py' % module_name)
        module_spec = spec_from_file_location(module_name.replace('/', '.'), path)
        module = module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    handler = getattr(module, attribute)
    if not callable(handler):
        raise TypeError('%s.%s is a %s, not a function' % (module_name, attribute, type(handler).__name__))
    return handler


class Context:
    """The handler's second argument, shaped like Function Compute's Python context."""

    def __init__(self, header, function):
        self.request_id = header.get('requestId')
        # Sluice hands out no cloud credentials; empty as in Node.js, so that code reading them fails the same way.
        self.credentials = SimpleNamespace()
        self.function = function
        self.service = SimpleNamespace(
            name=function.name, qualifier=header.get('qualifier'), version_id=header.get('versionId')
        )
        self.region = 'local'
        self.account_id = 'sluice'
        # Made as the invocation starts: its time runs from then, as the server's timeout does.
        self._deadline = time.time() * 1000 + function.timeout * 1000

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline - time.time() * 1000))


class ScfContext(dict):
    """Tencent SCF's context, a dict, that also reads as Function Compute's (`context.request_id`)."""

    def __init__(self, header, function):
        fc = Context(header, function)
        env = dict(os.environ, SCF_NAMESPACE='default')
        version = header.get('versionId')
        super().__init__(
            callbackWaitsForEmptyEventLoop=True,
            memory_limit_in_mb=function.memory,
            time_limit_in_ms=function.timeout * 1000,
            request_id=fc.request_id,
            environment=json.dumps(env),
            environ=';'.join('%s=%s' % item for item in env.items()),
            function_version='$LATEST' if version == 'LATEST' else version,
            function_name=function.name,
            namespace='default',
            qualifier=header.get('qualifier'),
            tencentcloud_region='local',
            tencentcloud_appid='sluice',
            tencentcloud_uin='sluice',
        )
        self.__dict__.update(vars(fc))
        self.get_remaining_time_in_millis = fc.get_remaining_time_in_millis


def scf_event(body):
    """SCF hands its handlers the event parsed from JSON; an event that is not JSON comes as its text."""
    text = body.decode('utf-8', errors='replace')
    try:
        return json.loads(text)
    except ValueError:
        return text


def encode_result(value):
    if isinstance(value, str):
        return 'text', value.encode('utf-8')
    if isinstance(value, (bytes, bytearray, memoryview)):
        return 'bytes', bytes(value)
    try:
        return 'json', json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode()
    except (TypeError, ValueError) as e:
        message = 'the handler returned a %s that cannot be serialized as JSON: %s' % (type(value).__name__, e)
        raise TypeError(message) from None


def invoke(handler, function, convention, header, body):
    current.id, current.logged, current.truncated = header['id'], 0, False
    exit_code = None
    started = time.perf_counter()
    try:
        if convention == 'scf':
            event, context = scf_event(body), ScfContext(header, function)
        else:
            event, context = body, Context(header, function)
        kind, out = encode_result(handler(event, context))
        reply = {'type': 'result', 'id': header['id'], 'kind': kind}
    except SystemExit as e:
        exit_code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        message = 'the handler called exit(%r); the instance exits with status %d' % (e.code, exit_code)
        reply, out = dict(error_fields(e, message), type='error', id=header['id']), b''
    except BaseException as e:
        reply, out = dict(error_fields(e), type='error', id=header['id']), b''
    # How long it ran here, which the server cannot tell apart from its own delays.
    reply['ms'] = (time.perf_counter() - started) * 1000
    # The remainders go out before the answer, which is the server's sign that the invocation's logs are complete.
    stdout.flush()
    stderr.flush()
    current.id = None
    if exit_code is not None:
        # Before the answer, so that the server routes nothing more to this instance once it has the answer.
        channel.send({'type': 'exiting'})
    channel.send(reply, out)
    if exit_code is not None:
        os._exit(exit_code)


def become(user):
    """A standby started as root takes its function's user, and with it loses every capability, for good."""
    os.setresgid(user['gid'], user['gid'], user['gid'])
    os.setresuid(user['uid'], user['uid'], user['uid'])
    if os.getresuid() != (user['uid'],) * 3:
        raise PermissionError('the bootstrap could not become user %d' % user['uid'])
    # Changing users made the process undumpable (its /proc/self/environ root's): as setpriv leaves it again.
    PR_SET_DUMPABLE = 4
    if prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
        raise PermissionError('the bootstrap could not make itself dumpable again')


def specialise(init):
    """What a standby learns only from its init: the function's user, environment and code directory."""
    if init.get('user'):
        become(init['user'])
    if 'env' in init:
        os.environ.clear()
        os.environ.update(init['env'])
        time.tzset()
    os.chdir(init['codeDir'])


def main():
    global channel
    channel = Channel(3)
    sys.stdout, sys.stderr = stdout, stderr
    channel.send({'type': 'waiting'})
    try:
        init, _ = channel.read()
    except EOFError:
        os._exit(0)
    if init.get('type') != 'init':
        sys.__stderr__.write('sluice bootstrap: expected an init frame, got %r\n' % init.get('type'))
        os._exit(1)
    try:
        specialise(init)
    except BaseException as e:
        channel.send(dict(error_fields(e), type='initError'))
        os._exit(1)
    fn = init['function']
    function = SimpleNamespace(
        name=fn['name'],
        handler=fn['handler'],
        memory=fn['memorySize'],
        memory_size=fn['memorySize'],
        timeout=fn['timeout'],
    )
    convention = init.get('convention', 'fc')
    # The bootstrap's own directory would otherwise come first on the path, ahead of the function's code.
    if sys.path and sys.path[0] == os.path.dirname(THIS_FILE):
        del sys.path[0]
    sys.path.insert(0, init['codeDir'])
    try:
        handler = load_handler(fn['handler'], init['codeDir'])
    except BaseException as e:
        stdout.flush()
        stderr.flush()
        channel.send(dict(error_fields(e), type='initError'))
        # Not sys.exit: threads the module may have started must not keep a broken instance alive.
        os._exit(1)
    channel.send({'type': 'ready'})

    concurrency = max(1, int(init.get('instanceConcurrency') or 1))
    if concurrency == 1:
        def dispatch(header, body):
            invoke(handler, function, convention, header, body)
    else:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(concurrency, thread_name_prefix='sluice-invoke')

        def dispatch(header, body):
            pool.submit(invoke, handler, function, convention, header, body)

    while True:
        try:
            header, body = channel.read()
        except EOFError:
            # os._exit, not sys.exit: interpreter shutdown would wait for handlers still running in the pool.
            os._exit(0)
        if header.get('type') == 'invoke':
            dispatch(header, body)


if __name__ == '__main__':
    main()
