using System.Buffers;

namespace Registry.Core.IO;

/// <summary>
/// The 1 MiB blocks that streamed bytes are copied through (the file driver's writes, the blob cache fill), from one
/// bounded pool: at most 32 idle blocks (32 MiB) are kept for the next stream; more streams at once rent fresh ones,
/// which the collector takes back. <see cref="ArrayPool{T}.Shared"/> would keep one in each thread that ever
/// returned one plus a stack per core, so a burst of concurrent pushes stayed resident (large-object heap) long after.
/// </summary>
public static class Blocks
{
    public const int Size = 1 << 20;

    public static byte[] Rent() => Pool.Rent(Size);

    public static void Return(byte[] block) => Pool.Return(block);

    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(Size, 32);
}
