package io.keybroker.api;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.util.Arrays;

/**
 * A Netty buffer around a response body that may hold plaintext: Netty releases it once the bytes have gone
 * into the TLS engine, and releasing it zeroes the array. Wiping from the outside when the write "completes"
 * would race with Netty, which may still be reading the array.
 */
final class WipingByteBuf extends UnpooledHeapByteBuf {

    WipingByteBuf(byte[] body) {
        super(UnpooledByteBufAllocator.DEFAULT, body, body.length);
    }

    @Override
    protected void freeArray(byte[] array) {
        Arrays.fill(array, (byte) 0);
    }
}
