<?php
/*
 * Sluice's PHP runtime bootstrap: runs one function instance, speaking docs/runtime-protocol.md on fd 3.
 *
 * Started as `php -d … bootstrap.php`, ahead of its function when it is a standby, with the system's php.ini so
 * that the function has the extensions installed. One process serves many invocations, one after another.
 * PHP 8.1+, with nothing beyond what every build has (JSON is built in; mbstring and posix may be missing); a
 * standby started as root needs FFI to become its function's user, and says so when it lacks it.
 */

const SLUICE_LOG_CAP = 1 << 20;
const SLUICE_TRUNCATED = "[sluice] log output truncated at 1 MiB\n";
/* What the handler echoes is sent once this much is buffered, and at the end of each invocation. */
const SLUICE_OUTPUT_CHUNK = 8192;
const SLUICE_FATAL = E_ERROR | E_PARSE | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_RECOVERABLE_ERROR;

final class SluiceChannel
{
    /** @var resource */
    private $stream;
    private bool $gone = false;

    public function __construct()
    {
        // The channel is a socket: PHP would give up a read after default_socket_timeout (60 s) and take it for
        // the server's end, so an instance idle for a minute would exit and its next call start cold.
        ini_set('default_socket_timeout', '-1');
        $stream = fopen('php://fd/3', 'r+');
        if ($stream === false) {
            fwrite(STDERR, "sluice bootstrap: cannot open the protocol channel on fd 3\n");
            exit(1);
        }
        // The end the server hands over may be non-blocking; reads and writes here must block.
        stream_set_blocking($stream, true);
        $this->stream = $stream;
    }

    /** The next frame as [header, body]; null once the server has gone. */
    public function read(): ?array
    {
        $prefix = $this->readExactly(8);
        if ($prefix === null) {
            return null;
        }
        ['h' => $headerLength, 'b' => $bodyLength] = unpack('Nh/Nb', $prefix);
        $header = $this->readExactly($headerLength);
        $body = $this->readExactly($bodyLength);
        if ($header === null || $body === null) {
            return null;
        }
        return [json_decode($header, true, 512, JSON_THROW_ON_ERROR), $body];
    }

    private function readExactly(int $n): ?string
    {
        $data = '';
        while (strlen($data) < $n) {
            $chunk = @fread($this->stream, $n - strlen($data));
            if ($chunk === false || $chunk === '') {
                return null;
            }
            $data .= $chunk;
        }
        return $data;
    }

    public function send(array $header, string $body = ''): void
    {
        if ($this->gone) {
            return;
        }
        $head = json_encode($header, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        $frame = pack('NN', strlen($head), strlen($body)) . $head . $body;
        while ($frame !== '') {
            $written = @fwrite($this->stream, $frame);
            if ($written === false || $written === 0) {
                // The server is gone: nobody is left to answer, so stop rather than run handlers for no one.
                $this->gone = true;
                exit(0);
            }
            $frame = substr($frame, $written);
        }
    }
}

/** What the process is running: the invocation its output belongs to, and how much of it was logged. */
final class SluiceRuntime
{
    public ?int $id = null;
    public bool $ready = false;
    private int $logged = 0;
    private bool $truncated = false;
    private ?string $errorLog = null;

    public function __construct(public readonly SluiceChannel $channel)
    {
    }

    /**
     * error_log() and PHP's warnings go to a file of the instance's own, read back after each invocation:
     * through stderr they could reach the server after the answer, and be counted to no invocation. Once the
     * instance has its environment: PHP reads TMPDIR once.
     */
    public function logErrorsAside(): void
    {
        $this->errorLog = sys_get_temp_dir() . '/sluice-php-errors-' . getmypid() . '.log';
        ini_set('error_log', $this->errorLog);
    }

    public function begin(int $id): void
    {
        $this->id = $id;
        $this->logged = 0;
        $this->truncated = false;
    }

    public function log(string $stream, string $text): void
    {
        if ($text === '') {
            return;
        }
        if ($this->id !== null) {
            if ($this->truncated) {
                return;
            }
            $room = SLUICE_LOG_CAP - $this->logged;
            if (strlen($text) > $room) {
                $this->truncated = true;
                $text = sluice_cut_utf8($text, $room);
                $text .= ($text === '' || str_ends_with($text, "\n") ? '' : "\n") . SLUICE_TRUNCATED;
            }
            $this->logged += strlen($text);
        }
        $this->channel->send(['type' => 'log', 'id' => $this->id, 'stream' => $stream], $text);
    }

    /** Sends what was echoed and what went to the error log, before the answer that ends the invocation. */
    public function flush(): void
    {
        if (ob_get_level() > 0) {
            ob_flush();
        }
        if ($this->errorLog === null) {
            return;
        }
        clearstatcache(true, $this->errorLog);
        if (is_file($this->errorLog) && filesize($this->errorLog) > 0) {
            $text = (string) file_get_contents($this->errorLog);
            // PHP opens the file anew for every line (O_APPEND): emptying it is enough.
            file_put_contents($this->errorLog, '');
            $this->log('stderr', $text);
        }
    }

    public function end(): void
    {
        $this->id = null;
    }
}

/** The first $bytes bytes of $text, less a character that the cut would split. */
function sluice_cut_utf8(string $text, int $bytes): string
{
    while ($bytes > 0 && $bytes < strlen($text) && (ord($text[$bytes]) & 0xC0) === 0x80) {
        $bytes--;
    }
    return substr($text, 0, $bytes);
}

function sluice_error_fields(Throwable $e): array
{
    $stack = [sprintf('%s(%d)', $e->getFile(), $e->getLine())];
    foreach (explode("\n", $e->getTraceAsString()) as $line) {
        // The bootstrap's own frames say nothing about the function.
        if (!str_contains($line, __FILE__) && !str_ends_with($line, '{main}')) {
            $stack[] = $line;
        }
    }
    return ['errorMessage' => $e->getMessage(), 'errorType' => get_class($e), 'stackTrace' => $stack];
}

final class SluiceHandlerNotFound extends Exception
{
}

/** `index.handler`: the file index.php and the function handler in it. */
function sluice_handler_parts(string $spec, string $codeDir): array
{
    $dot = (int) strrpos($spec, '.');
    $file = substr($spec, 0, $dot);
    $path = $codeDir . '/' . $file . '.php';
    if (!is_file($path)) {
        throw new SluiceHandlerNotFound("cannot find $file.php in the code package for handler $spec");
    }
    return [$path, $file, substr($spec, $dot + 1)];
}

function sluice_handler_function(string $file, string $name): callable
{
    if (!function_exists($name)) {
        throw new SluiceHandlerNotFound("$file.php does not define a function named $name");
    }
    return $name;
}

function sluice_init_failed(SluiceRuntime $runtime, Throwable $e): never
{
    $runtime->flush();
    $fields = sluice_error_fields($e);
    if ($e instanceof SluiceHandlerNotFound) {
        $fields['errorType'] = 'HandlerNotFound';
    }
    $runtime->channel->send(['type' => 'initError'] + $fields);
    exit(1);
}

/** The result frame of what the handler returned: a string as text, anything else as JSON. */
function sluice_encode_result(mixed $value): array
{
    if (is_string($value)) {
        return ['text', $value];
    }
    $json = json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
    if ($json === false) {
        throw new UnexpectedValueException(
            'the handler returned a ' . get_debug_type($value) . ' that cannot be encoded as JSON: ' . json_last_error_msg(),
        );
    }
    return ['json', $json];
}

/** Takes what is written to STDOUT and STDERR themselves, which bypass output buffering, as log frames. */
final class SluiceStreamFilter extends php_user_filter
{
    public static SluiceRuntime $runtime;

    public function filter($in, $out, &$consumed, bool $closing): int
    {
        while ($bucket = stream_bucket_make_writeable($in)) {
            $consumed += $bucket->datalen;
            self::$runtime->log($this->params, $bucket->data);
        }
        return PSFS_PASS_ON;
    }
}

/** A standby started as root becomes its function's user, and so loses every capability, for good. */
function sluice_become(array $user): void
{
    $libc = FFI::cdef(
        'int setresgid(unsigned int, unsigned int, unsigned int); '
        . 'int setresuid(unsigned int, unsigned int, unsigned int); '
        . 'int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long);',
        'libc.so.6',
    );
    [$uid, $gid] = [(int) $user['uid'], (int) $user['gid']];
    if ($libc->setresgid($gid, $gid, $gid) !== 0 || $libc->setresuid($uid, $uid, $uid) !== 0) {
        throw new RuntimeException("the bootstrap could not become user $uid");
    }
    // Changing users made the process undumpable (its /proc/self/environ root's): as setpriv leaves it again.
    if ($libc->prctl(4 /* PR_SET_DUMPABLE */, 1, 0, 0, 0) !== 0) {
        throw new RuntimeException('the bootstrap could not make itself dumpable again');
    }
}

/** The instance's environment in place of the standby's: for getenv(), child processes and $_SERVER. */
function sluice_replace_environment(array $env): void
{
    $withEnv = $_ENV !== [];
    foreach (array_keys(getenv()) as $name) {
        if (!array_key_exists($name, $env)) {
            putenv($name);
            unset($_SERVER[$name], $_ENV[$name]);
        }
    }
    foreach ($env as $name => $value) {
        putenv("$name=$value");
        $_SERVER[$name] = $value;
        if ($withEnv) {
            $_ENV[$name] = $value;
        }
    }
}

/** What a standby learns only from its init: the function's user, environment and code directory. */
function sluice_specialise(array $init): void
{
    if (isset($init['user'])) {
        sluice_become($init['user']);
    }
    if (isset($init['env'])) {
        sluice_replace_environment($init['env']);
    }
    chdir($init['codeDir']);
}

/** Opens the channel and reads init; the runtime and the init frame. */
function sluice_start(): array
{
    $channel = new SluiceChannel();
    $runtime = new SluiceRuntime($channel);
    SluiceStreamFilter::$runtime = $runtime;
    stream_filter_register('sluice.log', SluiceStreamFilter::class);
    stream_filter_append(STDOUT, 'sluice.log', STREAM_FILTER_WRITE, 'stdout');
    stream_filter_append(STDERR, 'sluice.log', STREAM_FILTER_WRITE, 'stderr');
    // What the handler echoes or prints is the invocation's log, sent as it fills a chunk.
    ob_start(function (string $buffer) use ($runtime): string {
        $runtime->log('stdout', $buffer);
        return '';
    }, SLUICE_OUTPUT_CHUNK);

    $channel->send(['type' => 'waiting', 'switchUser' => extension_loaded('FFI')]);
    $frame = $channel->read();
    if ($frame === null) {
        exit(0);
    }
    [$init] = $frame;
    if (($init['type'] ?? null) !== 'init') {
        fwrite(STDERR, 'sluice bootstrap: expected an init frame, got ' . json_encode($init['type'] ?? null) . "\n");
        exit(1);
    }
    register_shutdown_function(function () use ($runtime): void {
        // Reached when the process ends other than by the loop's end: a fatal error, or exit() in a handler.
        $error = error_get_last();
        $fatal = $error !== null && ($error['type'] & SLUICE_FATAL) !== 0;
        $runtime->flush();
        if (!$fatal) {
            // After exit(N) nothing is sent: the server sees the process end with status N, as in Node.js.
            return;
        }
        $fields = [
            'errorMessage' => $error['message'],
            'errorType' => 'FatalError',
            'stackTrace' => [sprintf('%s(%d)', $error['file'], $error['line'])],
        ];
        if (!$runtime->ready) {
            $runtime->channel->send(['type' => 'initError'] + $fields);
        } elseif ($runtime->id !== null) {
            $runtime->channel->send(['type' => 'exiting']);
            $runtime->channel->send(['type' => 'error', 'id' => $runtime->id] + $fields);
        }
    });

    try {
        sluice_specialise($init);
    } catch (Throwable $e) {
        sluice_init_failed($runtime, $e);
    }
    $runtime->logErrorsAside();
    return [$runtime, $init];
}

function sluice_serve(SluiceRuntime $runtime, array $init, callable $handler): never
{
    $channel = $runtime->channel;
    $fn = $init['function'];
    $runtime->flush();
    $runtime->ready = true;
    $channel->send(['type' => 'ready']);

    $function = [
        'name' => $fn['name'],
        'handler' => $fn['handler'],
        'memory' => $fn['memorySize'],
        'memorySize' => $fn['memorySize'],
        'timeout' => $fn['timeout'],
    ];
    while (($frame = $channel->read()) !== null) {
        [$header, $body] = $frame;
        if ($header['type'] !== 'invoke') {
            continue;
        }
        $id = $header['id'];
        $context = [
            'requestId' => $header['requestId'],
            // Sluice hands out no cloud credentials; empty as in the other runtimes.
            'credentials' => [],
            'function' => $function,
            'service' => ['name' => $fn['name'], 'qualifier' => $header['qualifier'], 'versionId' => $header['versionId']],
            'region' => 'local',
            'accountId' => 'sluice',
        ];
        $runtime->begin($id);
        $started = hrtime(true);
        try {
            [$kind, $out] = sluice_encode_result($handler($body, $context));
            $reply = ['type' => 'result', 'id' => $id, 'kind' => $kind];
        } catch (Throwable $e) {
            $reply = ['type' => 'error', 'id' => $id] + sluice_error_fields($e);
            $out = '';
        }
        // How long it ran here, which the server cannot tell apart from its own delays.
        $reply['ms'] = (hrtime(true) - $started) / 1e6;
        $runtime->flush();
        $runtime->end();
        $channel->send($reply, $out);
    }
    exit(0);
}

[$__sluice_runtime, $__sluice_init] = sluice_start();
try {
    [$__sluice_path, $__sluice_file, $__sluice_name] = sluice_handler_parts(
        $__sluice_init['function']['handler'],
        $__sluice_init['codeDir'],
    );
    // At the top level, as PHP runs a script: the file's variables are globals that its functions can reach.
    require_once $__sluice_path;
    $__sluice_handler = sluice_handler_function($__sluice_file, $__sluice_name);
} catch (Throwable $e) {
    sluice_init_failed($__sluice_runtime, $e);
}
sluice_serve($__sluice_runtime, $__sluice_init, $__sluice_handler);
