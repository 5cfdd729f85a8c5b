using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Sluice.Runtime
{
    /// A frame of docs/runtime-protocol.md: a JSON header and a raw body.
    internal sealed class Frame
    {
        public Dictionary<string, object> Header;
        public byte[] Body;
    }

    /// The protocol channel on fd 3, a Unix socket. Mono's FileStream refuses a socket's descriptor, and its
    /// Socket cannot adopt one, so reads and writes are libc's own.
    internal sealed class Channel
    {
        private const int Fd = 3;
        private const int EINTR = 4;
        private const int F_GETFL = 3;
        private const int F_SETFL = 4;
        private const int O_NONBLOCK = 0x800;

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern IntPtr read(int fd, IntPtr buffer, IntPtr count);

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern IntPtr write(int fd, IntPtr buffer, IntPtr count);

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int fcntl(int fd, int command, int argument);

        private readonly object sending = new object();
        private bool gone;

        public Channel()
        {
            // The end the server hands over may be non-blocking; this process waits on it.
            int flags = fcntl(Fd, F_GETFL, 0);
            if (flags >= 0 && (flags & O_NONBLOCK) != 0)
                fcntl(Fd, F_SETFL, flags & ~O_NONBLOCK);
        }

        /// The next frame; null once the server has gone.
        public Frame Read()
        {
            var prefix = ReadExactly(8);
            if (prefix == null)
                return null;
            int headerLength = BigEndian(prefix, 0);
            int bodyLength = BigEndian(prefix, 4);
            var header = ReadExactly(headerLength);
            var body = ReadExactly(bodyLength);
            if (header == null || body == null)
                return null;
            var parsed = Json.Parse(Encoding.UTF8.GetString(header)) as Dictionary<string, object>;
            if (parsed == null)
                throw new InvalidOperationException("a frame's header is not a JSON object");
            return new Frame { Header = parsed, Body = body };
        }

        public void Send(Dictionary<string, object> header, byte[] body = null)
        {
            body = body ?? new byte[0];
            var json = Encoding.UTF8.GetBytes(Json.Write(header));
            var frame = new byte[8 + json.Length + body.Length];
            PutBigEndian(frame, 0, json.Length);
            PutBigEndian(frame, 4, body.Length);
            Buffer.BlockCopy(json, 0, frame, 8, json.Length);
            Buffer.BlockCopy(body, 0, frame, 8 + json.Length, body.Length);
            lock (sending)
            {
                if (gone)
                    return;
                if (!WriteAll(frame))
                {
                    // The server is gone: nobody is left to answer, so stop rather than run handlers for no one.
                    gone = true;
                    Environment.Exit(0);
                }
            }
        }

        private static byte[] ReadExactly(int length)
        {
            var data = new byte[length];
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                int done = 0;
                while (done < length)
                {
                    long n = (long)read(Fd, pin.AddrOfPinnedObject() + done, (IntPtr)(length - done));
                    if (n < 0 && Marshal.GetLastWin32Error() == EINTR)
                        continue;
                    if (n <= 0)
                        return null;
                    done += (int)n;
                }
                return data;
            }
            finally
            {
                pin.Free();
            }
        }

        private static bool WriteAll(byte[] data)
        {
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                int done = 0;
                while (done < data.Length)
                {
                    long n = (long)write(Fd, pin.AddrOfPinnedObject() + done, (IntPtr)(data.Length - done));
                    if (n < 0 && Marshal.GetLastWin32Error() == EINTR)
                        continue;
                    if (n <= 0)
                        return false;
                    done += (int)n;
                }
                return true;
            }
            finally
            {
                pin.Free();
            }
        }

        private static int BigEndian(byte[] b, int at)
        {
            return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
        }

        private static void PutBigEndian(byte[] b, int at, int value)
        {
            b[at] = (byte)(value >> 24);
            b[at + 1] = (byte)(value >> 16);
            b[at + 2] = (byte)(value >> 8);
            b[at + 3] = (byte)value;
        }
    }
}
