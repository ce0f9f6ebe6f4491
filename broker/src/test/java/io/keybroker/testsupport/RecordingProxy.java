package io.keybroker.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plain TCP relay in front of a peer on loopback that keeps every byte the client sent, so a test can show
 * what reached the peer (or that nothing did) byte for byte: headers, query strings and bodies. For HTTP peers
 * only (it sees TLS as ciphertext).
 */
public final class RecordingProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private RecordingProxy(int target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "recording-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Starts a relay to {@code 127.0.0.1:target}. */
    public static RecordingProxy to(int target) {
        try {
            return new RecordingProxy(target);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Everything clients sent so far, as ISO-8859-1 text (one char per byte). */
    public String sent() {
        synchronized (sent) {
            return sent.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** How many HTTP/1.1 requests reached the peer so far. */
    public int requests() {
        String all = sent();
        int count = 0;
        for (int i = all.indexOf(" HTTP/1.1\r\n"); i >= 0; i = all.indexOf(" HTTP/1.1\r\n", i + 1)) {
            count++;
        }
        return count;
    }

    /** Forgets what was sent so far. */
    public void clear() {
        synchronized (sent) {
            sent.reset();
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket peer = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(peer);
                pump(client.getInputStream(), peer.getOutputStream(), true, peer);
                pump(peer.getInputStream(), client.getOutputStream(), false, client);
            } catch (IOException ex) {
                return;
            }
        }
    }

    private void pump(InputStream in, OutputStream out, boolean record, Socket closeAfter) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    if (record) {
                        synchronized (sent) {
                            sent.write(buffer, 0, n);
                        }
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException ex) {
                // The other side closed: close this one too.
            } finally {
                try {
                    closeAfter.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }, "recording-proxy-pump");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() {
        try {
            server.close();
            for (Socket socket : sockets) {
                socket.close();
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
