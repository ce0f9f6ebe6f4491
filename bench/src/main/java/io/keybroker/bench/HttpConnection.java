package io.keybroker.bench;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One HTTP/1.1 keep-alive connection, blocking, with the least client work per request: the request is a
 * prepared byte array and the response is parsed in place (status, Content-Length or chunked, Connection:
 * close). The load generator shares two cores with the server it measures, so every microsecond it spends is
 * one the server does not get; a general-purpose client (java.net.http, with its asynchronous pipeline and
 * connection pool) does more work per request, on the same cores.
 * A peer that closes the connection after each answer (moto) is reconnected, as any client would.
 */
final class HttpConnection implements Closeable {

    private final String host;
    private final int port;
    private final SSLContext tls;
    private final byte[] buffer = new byte[64 * 1024];
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private int pos;
    private int limit;
    private boolean closeAfter;
    private long contentLength;
    private boolean chunked;
    private long connects;
    /** The last line read by {@link #nextLine}, valid until the next read. */
    private int lineStart_;
    private int lineEnd_;
    private ByteArrayOutputStream capture;
    /** Whether the last response head had a Retry-After field (a 503 without one gives a client nothing to act on). */
    private boolean retryAfter;
    private int readTimeoutMillis = 30_000;
    private boolean reconnectStale = true;

    HttpConnection(String host, int port, SSLContext tls) {
        this.host = host;
        this.port = port;
        this.tls = tls;
    }

    /**
     * The overload phase's settings: a read that waits longer than {@code millis} fails with
     * SocketTimeoutException (counted as a timeout), and a kept-alive connection the server closed is not silently
     * retried on a new one, so every reset or early close is counted instead of hidden.
     */
    HttpConnection strict(int millis) {
        this.readTimeoutMillis = millis;
        this.reconnectStale = false;
        return this;
    }

    boolean lastHadRetryAfter() {
        return retryAfter;
    }

    /** Opens the connection (and completes the TLS handshake) now, so it is not part of the first request. */
    void open() throws IOException {
        if (socket != null) {
            return;
        }
        Socket plain = new Socket();
        Socket s = plain;
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), 5_000);
            plain.setSoTimeout(readTimeoutMillis);
            if (tls != null) {
                SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
                SSLParameters parameters = secure.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                secure.setSSLParameters(parameters);
                s = secure;
                secure.startHandshake();
            }
        } catch (IOException ex) {
            // A failed connect or handshake must not leave its socket open: under overload there may be many.
            s.close();
            throw ex;
        }
        socket = s;
        in = s.getInputStream();
        out = s.getOutputStream();
        pos = 0;
        limit = 0;
        closeAfter = false;
        connects++;
    }

    long connects() {
        return connects;
    }

    /** Sends one request and reads its whole response; returns the status code. */
    int exchange(byte[] request) throws IOException {
        boolean reused = socket != null;
        open();
        try {
            return send(request);
        } catch (IOException ex) {
            close();
            if (!reused || !reconnectStale) {
                throw ex;
            }
            // A kept-alive connection the server had already closed: one new connection, as HTTP clients do.
            open();
            try {
                return send(request);
            } catch (IOException again) {
                close();
                throw again;
            }
        }
    }

    /** Like {@link #exchange} and also returns the body (for the one check per connection that the peer serves
     * the expected secret). */
    byte[] exchangeForBody(byte[] request, int[] status) throws IOException {
        capture = new ByteArrayOutputStream();
        try {
            status[0] = exchange(request);
            return capture.toByteArray();
        } finally {
            capture = null;
        }
    }

    private int send(byte[] request) throws IOException {
        out.write(request);
        out.flush();
        int status = readHead();
        readBody(status);
        if (closeAfter) {
            close();
        }
        return status;
    }

    private int readHead() throws IOException {
        contentLength = -1;
        chunked = false;
        retryAfter = false;
        nextLine();
        if (lineEnd_ - lineStart_ < 12 || buffer[lineStart_] != 'H') {
            throw new IOException("not an HTTP response");
        }
        boolean http10 = buffer[lineStart_ + 7] == '0';
        int status = (buffer[lineStart_ + 9] - '0') * 100 + (buffer[lineStart_ + 10] - '0') * 10
                + (buffer[lineStart_ + 11] - '0');
        closeAfter = http10;
        while (nextLine() > 0) {
            if (startsWithIgnoreCase("content-length:")) {
                contentLength = Long.parseLong(value(lineStart_ + 15, lineEnd_));
            } else if (startsWithIgnoreCase("transfer-encoding:")) {
                chunked = value(lineStart_ + 18, lineEnd_).toLowerCase().contains("chunked");
            } else if (startsWithIgnoreCase("connection:")) {
                String v = value(lineStart_ + 11, lineEnd_).toLowerCase();
                closeAfter = v.contains("close") || (http10 && !v.contains("keep-alive"));
            } else if (startsWithIgnoreCase("retry-after:")) {
                retryAfter = !value(lineStart_ + 12, lineEnd_).isEmpty();
            }
        }
        return status;
    }

    private void readBody(int status) throws IOException {
        if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
            return;
        }
        if (chunked) {
            while (true) {
                nextLine();
                String size = value(lineStart_, lineEnd_);
                int semicolon = size.indexOf(';');
                long n = Long.parseLong((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
                if (n == 0) {
                    while (nextLine() > 0) {
                        // trailer fields, ignored
                    }
                    return;
                }
                skip(n);
                nextLine();
            }
        }
        if (contentLength >= 0) {
            skip(contentLength);
            return;
        }
        // Neither length nor chunks: the body ends with the connection.
        while (fill()) {
            consume(limit - pos);
        }
        closeAfter = true;
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            if (pos == limit && !fill()) {
                throw new EOFException("connection closed inside a response body");
            }
            int take = (int) Math.min(n, limit - pos);
            consume(take);
            n -= take;
        }
    }

    private void consume(int n) {
        if (capture != null) {
            capture.write(buffer, pos, n);
        }
        pos += n;
    }

    /** Moves past the next CRLF-terminated line; returns its length (0 for the empty line ending a head). */
    private int nextLine() throws IOException {
        while (true) {
            for (int i = pos; i + 1 < limit; i++) {
                if (buffer[i] == '\r' && buffer[i + 1] == '\n') {
                    lineStart_ = pos;
                    lineEnd_ = i;
                    pos = i + 2;
                    return lineEnd_ - lineStart_;
                }
            }
            if (!fill()) {
                throw new EOFException("connection closed inside a response head");
            }
        }
    }

    /** Reads more bytes, compacting the buffer first; false at end of stream. */
    private boolean fill() throws IOException {
        if (pos > 0) {
            System.arraycopy(buffer, pos, buffer, 0, limit - pos);
            limit -= pos;
            pos = 0;
        }
        if (limit == buffer.length) {
            throw new IOException("response line longer than " + buffer.length + " bytes");
        }
        int n = in.read(buffer, limit, buffer.length - limit);
        if (n < 0) {
            return false;
        }
        limit += n;
        return true;
    }

    /** Whether the last line starts with the lower-case prefix, in any case. */
    private boolean startsWithIgnoreCase(String prefix) {
        if (lineEnd_ - lineStart_ < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (Character.toLowerCase(buffer[lineStart_ + i]) != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private String value(int start, int end) {
        return new String(buffer, start, end - start, StandardCharsets.US_ASCII).trim();
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ex) {
                // closing anyway
            }
        }
        socket = null;
        in = null;
        out = null;
    }
}
