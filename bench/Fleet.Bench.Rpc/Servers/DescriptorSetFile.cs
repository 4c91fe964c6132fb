using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>
/// The serialized google.protobuf.FileDescriptorSet the python peer loads its message types from
/// (tests/interop/README.md, "The descriptor set"), written from the C# generated descriptors.
/// </summary>
internal static class DescriptorSetFile
{
    public static string Write()
    {
        var set = new FileDescriptorSet();
        foreach (var file in new[]
                 {
                     Fleet.Testing.Echo.EchoReflection.Descriptor,
                     Grpc.Health.V1.HealthReflection.Descriptor,
                     Grpc.Reflection.V1.ReflectionReflection.Descriptor,
                     Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor,
                 }.SelectMany(WithDependencies).DistinctBy(f => f.Name))
        {
            set.File.Add(FileDescriptorProto.Parser.ParseFrom(file.SerializedData));
        }

        var path = Path.Combine(Path.GetTempPath(), $"fleet-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.pb");
        File.WriteAllBytes(path, set.ToByteArray());
        return path;
    }

    private static IEnumerable<FileDescriptor> WithDependencies(FileDescriptor file) =>
        file.Dependencies.SelectMany(WithDependencies).Append(file);
}
