package io.keybroker.listener;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The buffer allocator of the API listener's connections: unpooled, and every buffer is zeroed when Netty
 * releases it.
 *
 * <p>Why: between the response body (itself wiped on release, see {@code WipingByteBuf}) and the TLS engine,
 * Netty copies the plaintext. The HTTP encoder merges a small body into the buffer of the response headers, and
 * the TLS handler may coalesce several writes into one buffer before encrypting. With Netty's default pooled
 * allocator those buffers go back to a pool chunk unwiped, and the chunk stays reachable from the event-loop
 * thread: a heap dump of a broker that had served a few requests held the last response of each event loop,
 * value included, until a later allocation happened to overwrite it. Pooling saves little for a loopback sidecar
 * answering small JSON documents; wiping on release costs a fill of a few kilobytes per response.
 *
 * <p>Heap buffers by default, so the plaintext the HTTP encoder handles is in the Java heap (where a heap dump
 * can check it); I/O buffers are direct because the native epoll transport reads into direct memory only (they
 * carry ciphertext, except a TLS coalescing copy, and are wiped too).
 */
public final class WipingByteBufAllocator extends AbstractByteBufAllocator {

    public static final WipingByteBufAllocator INSTANCE = new WipingByteBufAllocator();

    private WipingByteBufAllocator() {
        super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return new WipingHeapByteBuf(this, initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return new WipingDirectByteBuf(this, initialCapacity, maxCapacity);
    }

    @Override
    public ByteBuf ioBuffer() {
        return directBuffer();
    }

    @Override
    public ByteBuf ioBuffer(int initialCapacity) {
        return directBuffer(initialCapacity);
    }

    @Override
    public ByteBuf ioBuffer(int initialCapacity, int maxCapacity) {
        return directBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    private static final class WipingHeapByteBuf extends UnpooledHeapByteBuf {

        WipingHeapByteBuf(ByteBufAllocator allocator, int initialCapacity, int maxCapacity) {
            super(allocator, initialCapacity, maxCapacity);
        }

        // Called on the final release and for the old array when the buffer grows.
        @Override
        protected void freeArray(byte[] array) {
            Arrays.fill(array, (byte) 0);
        }
    }

    private static final class WipingDirectByteBuf extends UnpooledDirectByteBuf {

        WipingDirectByteBuf(ByteBufAllocator allocator, int initialCapacity, int maxCapacity) {
            super(allocator, initialCapacity, maxCapacity);
        }

        @Override
        protected void freeDirect(ByteBuffer buffer) {
            ByteBuffer all = buffer.duplicate().clear();
            while (all.remaining() >= Long.BYTES) {
                all.putLong(0L);
            }
            while (all.hasRemaining()) {
                all.put((byte) 0);
            }
            super.freeDirect(buffer);
        }
    }
}
