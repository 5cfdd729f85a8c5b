using System;
using System.IO;
using System.Reflection;
using Aliyun.Serverless.Core;

namespace Sluice.Runtime
{
    /// The handler names no assembly, type or method that the package has.
    internal sealed class HandlerNotFoundException : Exception
    {
        public HandlerNotFoundException(string message) : base(message)
        {
        }
    }

    /// A handler in Function Compute's form `Assembly::Namespace.Class::Method`, with the signature
    /// `string|Stream|byte[]|T Method(Stream input, IFcContext context)`, static or of an instance made once.
    internal sealed class Handler
    {
        /// Where Sluice puts the assembly it compiled from the package's .cs sources (src/runtime/csharp-build.ts).
        private const string BuildDir = ".sluice-build";

        private readonly object target;
        private readonly MethodInfo method;

        private Handler(object target, MethodInfo method)
        {
            this.target = target;
            this.method = method;
        }

        public static Handler Load(string spec, string codeDir)
        {
            var parts = spec.Split(new[] { "::" }, StringSplitOptions.None);
            if (parts.Length != 3)
                throw new HandlerNotFoundException("the handler " + spec + " is not Assembly::Namespace.Class::Method");
            string assemblyName = parts[0], typeName = parts[1], methodName = parts[2];
            AppDomain.CurrentDomain.AssemblyResolve += (sender, e) => Find(new AssemblyName(e.Name).Name, codeDir);
            var assembly = Find(assemblyName, codeDir);
            if (assembly == null)
                throw new HandlerNotFoundException("the package has no assembly " + assemblyName + ".dll and no .cs sources to build it from");
            var type = assembly.GetType(typeName);
            if (type == null)
                throw new HandlerNotFoundException("the assembly " + assemblyName + " has no type " + typeName);
            const BindingFlags any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
            MethodInfo found = null;
            foreach (var candidate in type.GetMethods(any))
            {
                if (candidate.Name != methodName)
                    continue;
                var parameters = candidate.GetParameters();
                if (parameters.Length == 2 && parameters[0].ParameterType == typeof(Stream) && parameters[1].ParameterType == typeof(IFcContext))
                    found = candidate;
            }
            if (found == null)
                throw new HandlerNotFoundException(typeName + " has no method " + methodName + "(Stream input, IFcContext context)");
            // The class's constructor runs once per instance, as in Function Compute: state kept in fields lasts.
            object instance = found.IsStatic ? null : Activator.CreateInstance(type, true);
            return new Handler(instance, found);
        }

        /// A method of the bootstrap's own, called as a function's handler is.
        internal static Handler Of(MethodInfo method)
        {
            return new Handler(null, method);
        }

        private static Assembly Find(string name, string codeDir)
        {
            foreach (var path in new[] { Path.Combine(codeDir, name + ".dll"), Path.Combine(codeDir, name + ".exe"), Path.Combine(codeDir, BuildDir, name + ".dll") })
            {
                if (File.Exists(path))
                    return Assembly.LoadFrom(path);
            }
            return null;
        }

        /// What the method returned; what it threw comes wrapped in a TargetInvocationException.
        public object Invoke(Stream input, IFcContext context)
        {
            return method.Invoke(target, new object[] { input, context });
        }
    }
}
