using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Logging;

namespace Fleet.Rpc.Server;

/// <summary>
/// Binds a service implementation to the methods of a protobuf service descriptor. For each method the
/// implementation provides a public instance method of the same name whose shape follows the call kind:
/// <list type="bullet">
/// <item>unary: <c>Task&lt;TResponse&gt; M(TRequest, ServerCallContext)</c></item>
/// <item>server streaming: <c>Task M(TRequest, IServerStreamWriter&lt;TResponse&gt;, ServerCallContext)</c></item>
/// <item>client streaming: <c>Task&lt;TResponse&gt; M(IAsyncStreamReader&lt;TRequest&gt;, ServerCallContext)</c></item>
/// <item>duplex: <c>Task M(IAsyncStreamReader&lt;TRequest&gt;, IServerStreamWriter&lt;TResponse&gt;, ServerCallContext)</c></item>
/// </list>
/// A method the implementation lacks answers UNIMPLEMENTED; a method with the right name but the wrong
/// shape is a programming error reported at start-up.
/// </summary>
internal static class ServiceMethodBinder
{
    [UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "Message types come from generated descriptors, which root them.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Native AOT is not a target; handler instantiations are over reference types.")]
    [UnconditionalSuppressMessage("Trimming", "IL2055", Justification = "Message types come from generated descriptors, which root them.")]
    [UnconditionalSuppressMessage("Trimming", "IL2071", Justification = "Message types come from generated descriptors, which root them.")]
    [UnconditionalSuppressMessage("Trimming", "IL2077", Justification = "The handler type is one of the four *ServerMethod<,,> definitions below (the tuple hides that from the analysis); [DynamicDependency] keeps their public constructors.")]
    [UnconditionalSuppressMessage("Trimming", "IL2080", Justification = "The delegate type is a closed Func<...>; the trimmer keeps Invoke on every delegate type it keeps.")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(UnaryServerMethod<,,>))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(ServerStreamingServerMethod<,,>))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(ClientStreamingServerMethod<,,>))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(DuplexStreamingServerMethod<,,>))]
    public static IReadOnlyList<ServerMethod> Bind<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] TService>(
        ServiceDescriptor service, GrpcServerOptions options, ILogger logger)
        where TService : class
    {
        var bound = new List<ServerMethod>();
        foreach (var method in service.Methods)
        {
            var candidates = typeof(TService).GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(m => m.Name == method.Name)
                .ToArray();
            if (candidates.Length == 0)
            {
                continue;
            }

            var request = method.InputType.ClrType;
            var response = method.OutputType.ClrType;
            var (handlerType, delegateType) = method.GetMethodType() switch
            {
                MethodType.Unary => (typeof(UnaryServerMethod<,,>),
                    typeof(Func<,,,>).MakeGenericType(typeof(TService), request, typeof(ServerCallContext), typeof(Task<>).MakeGenericType(response))),
                MethodType.ServerStreaming => (typeof(ServerStreamingServerMethod<,,>),
                    typeof(Func<,,,,>).MakeGenericType(typeof(TService), request, typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext), typeof(Task))),
                MethodType.ClientStreaming => (typeof(ClientStreamingServerMethod<,,>),
                    typeof(Func<,,,>).MakeGenericType(typeof(TService), typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(ServerCallContext), typeof(Task<>).MakeGenericType(response))),
                _ => (typeof(DuplexStreamingServerMethod<,,>),
                    typeof(Func<,,,,>).MakeGenericType(typeof(TService), typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext), typeof(Task))),
            };

            var expected = delegateType.GetMethod("Invoke")!;
            var expectedParameters = expected.GetParameters().Skip(1).Select(p => p.ParameterType).ToArray();
            var match = candidates.FirstOrDefault(m =>
                m.ReturnType == expected.ReturnType && m.GetParameters().Select(p => p.ParameterType).SequenceEqual(expectedParameters));
            if (match is null)
            {
                throw new InvalidOperationException(
                    $"{typeof(TService).Name}.{method.Name} does not match {method.FullName} ({method.GetMethodType()}): expected " +
                    $"{expected.ReturnType.Name} {method.Name}({string.Join(", ", expectedParameters.Select(p => p.Name))}).");
            }

            var handler = match.CreateDelegate(delegateType);
            var closed = handlerType.MakeGenericType(typeof(TService), request, response);
            bound.Add((ServerMethod)Activator.CreateInstance(closed, method, options, logger, handler)!);
        }

        RpcServerLog.ServiceBound(logger, service.FullName, bound.Count, service.Methods.Count);
        return bound;
    }
}
