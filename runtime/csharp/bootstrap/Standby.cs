using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

namespace Sluice.Runtime
{
    /// What a standby, started ahead of its function, learns only from its init: the function's user,
    /// environment and code directory.
    internal static class Standby
    {
        private const int PR_SET_DUMPABLE = 4;

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int setresgid(uint rgid, uint egid, uint sgid);

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int setresuid(uint ruid, uint euid, uint suid);

        [DllImport("libc.so.6", SetLastError = true)]
        private static extern int prctl(int option, UIntPtr arg2, UIntPtr arg3, UIntPtr arg4, UIntPtr arg5);

        public static void Specialise(Dictionary<string, object> init)
        {
            object user;
            if (init.TryGetValue("user", out user) && user != null)
                Become((Dictionary<string, object>)user);
            object env;
            if (init.TryGetValue("env", out env) && env != null)
                ReplaceEnvironment((Dictionary<string, object>)env);
            Directory.SetCurrentDirectory((string)init["codeDir"]);
        }

        /// As root: the function's user, which takes every capability away for good. glibc changes every
        /// thread of the runtime's, not only this one.
        private static void Become(Dictionary<string, object> user)
        {
            var uid = Convert.ToUInt32(user["uid"], CultureInfo.InvariantCulture);
            var gid = Convert.ToUInt32(user["gid"], CultureInfo.InvariantCulture);
            if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
                throw new UnauthorizedAccessException("the bootstrap could not become user " + uid);
            // Changing users made the process undumpable (its /proc/self/environ root's): as setpriv leaves it.
            if (prctl(PR_SET_DUMPABLE, (UIntPtr)1, UIntPtr.Zero, UIntPtr.Zero, UIntPtr.Zero) != 0)
                throw new UnauthorizedAccessException("the bootstrap could not make itself dumpable again");
        }

        private static void ReplaceEnvironment(Dictionary<string, object> env)
        {
            var names = new List<string>();
            foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
                names.Add((string)entry.Key);
            foreach (var name in names)
            {
                if (!env.ContainsKey(name))
                    Environment.SetEnvironmentVariable(name, null);
            }
            foreach (var pair in env)
                Environment.SetEnvironmentVariable(pair.Key, (string)pair.Value);
        }
    }
}
