using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;
using Registry.Core.Distribution;

namespace Registry.V2.Proxy;

/// <summary>
/// The copy of an upstream blob body into its download's temp file (<see cref="BlobMirror"/>), in three stages that
/// overlap: receiving from the socket, writing the temp file (after which <see cref="BlobFetch"/> readers may have the
/// bytes) and hashing. Each costs about as much CPU as the others; done one after the other on one thread they held a
/// miss to about a third of the upstream's own rate in the mirror benchmark. The stages pass chunks of up to
/// <see cref="ChunkSize"/>: one is handed over when full, or as soon as the writer has nothing else to do, so the
/// first bytes go out at once and a fast upstream is written and hashed in large pieces. At most
/// <see cref="ChunksInFlight"/> chunks exist per download; the receiver waits for a free one.
/// </summary>
internal static class BlobCopy
{
    public const int ChunkSize = 1024 * 1024;
    public const int ChunksInFlight = 8;

    private sealed class Chunk(byte[] buffer)
    {
        public byte[] Buffer => buffer;
        public int Count;
        public long Offset;

        /// <summary>Stages still using the chunk; the last one gives it back.</summary>
        public int Pending;
    }

    /// <summary>
    /// Copies <paramref name="body"/> to <paramref name="handle"/> from offset 0, advancing <paramref name="fetch"/>; the
    /// count and digest of what arrived. Reading stops past <paramref name="length"/> (such a body can never verify) and
    /// after <paramref name="idleTimeout"/> without bytes.
    /// </summary>
    public static async Task<(long Received, Digest Actual)> CopyAsync(
        Stream body, SafeFileHandle handle, BlobFetch fetch, long? length, TimeSpan idleTimeout, CancellationToken stopping)
    {
        var free = Channel.CreateBounded<Chunk>(ChunksInFlight);
        // Unbounded queues: the free chunks bound them. The writer's queue is the general kind, which can count.
        var toWrite = Channel.CreateUnbounded<Chunk>();
        var toHash = Channel.CreateUnbounded<Chunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var chunks = new Chunk[ChunksInFlight];
        for (var i = 0; i < chunks.Length; i++) free.Writer.TryWrite(chunks[i] = new Chunk(ArrayPool<byte>.Shared.Rent(ChunkSize)));
        using var hash = fetch.Digest.CreateHash();

        // A write into the page cache is synchronous: a thread-pool hop per chunk would cost more than the copy.
        var writing = Stage(toWrite.Reader, chunk =>
        {
            RandomAccess.Write(handle, chunk.Buffer.AsSpan(0, chunk.Count), chunk.Offset);
            fetch.Advance(chunk.Offset + chunk.Count);
        });
        var hashing = Stage(toHash.Reader, chunk => hash.AppendData(chunk.Buffer, 0, chunk.Count));

        long received = 0;
        try
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var ended = false;
            while (!ended)
            {
                var chunk = await free.Reader.ReadAsync(stopping);
                var count = 0;
                while (count < ChunkSize)
                {
                    idle.CancelAfter(idleTimeout);
                    var n = await body.ReadAsync(chunk.Buffer.AsMemory(count, ChunkSize - count), idle.Token);
                    if (n == 0)
                    {
                        ended = true;
                        break;
                    }
                    count += n;
                    if (length is { } max && received + count > max)
                    {
                        // Counted, not stored: the length check of the caller refuses it.
                        received += count;
                        count = 0;
                        ended = true;
                        break;
                    }
                    if (toWrite.Reader.Count == 0) break;
                }
                if (count == 0)
                {
                    free.Writer.TryWrite(chunk);
                    continue;
                }
                chunk.Count = count;
                chunk.Offset = received;
                chunk.Pending = 2;
                received += count;
                toWrite.Writer.TryWrite(chunk);
                toHash.Writer.TryWrite(chunk);
            }
            toWrite.Writer.TryComplete();
            toHash.Writer.TryComplete();
            await Task.WhenAll(writing, hashing);
            return (received, Digest.FromHash(fetch.Digest.Algorithm, hash.GetHashAndReset()));
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            // A stage failed and closed the free chunks: its exception is the cause.
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        finally
        {
            toWrite.Writer.TryComplete();
            toHash.Writer.TryComplete();
            // The stages must be done with the chunks, the handle and the hash before those go.
            await Task.WhenAny(Task.WhenAll(writing, hashing));
            foreach (var chunk in chunks) ArrayPool<byte>.Shared.Return(chunk.Buffer);
        }

        Task Stage(ChannelReader<Chunk> queue, Action<Chunk> work) => Task.Run(async () =>
        {
            try
            {
                await foreach (var chunk in queue.ReadAllAsync(stopping))
                {
                    work(chunk);
                    if (Interlocked.Decrement(ref chunk.Pending) == 0) free.Writer.TryWrite(chunk);
                }
            }
            catch (Exception e)
            {
                // The receiver waits for free chunks: closing them with the cause stops it.
                free.Writer.TryComplete(e);
                throw;
            }
        }, CancellationToken.None);
    }
}
