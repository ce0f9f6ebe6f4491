package io.keybroker.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * What to send and where: one or more prepared requests (several paths are read round-robin), with the TLS
 * context for an https URL. Built from the options {@code --url} (may contain {@code %04d}, expanded over
 * {@code --count}), {@code --method}, {@code --header Name:value} (repeatable), {@code --body}, and for https
 * {@code --ca}, {@code --cert}, {@code --key}.
 */
final class Target {

    final String host;
    final int port;
    final SSLContext tls;
    final List<byte[]> requests;
    final List<String> paths;
    private final TlsFactory tlsFactory;

    private Target(String host, int port, TlsFactory tlsFactory, List<byte[]> requests, List<String> paths)
            throws IOException, GeneralSecurityException {
        this.host = host;
        this.port = port;
        this.tlsFactory = tlsFactory;
        this.tls = tlsFactory == null ? null : tlsFactory.create();
        this.requests = requests;
        this.paths = paths;
    }

    /** Builds a client TLS context; a new one has an empty session cache, so its handshake is a full one. */
    @FunctionalInterface
    private interface TlsFactory {
        SSLContext create() throws GeneralSecurityException;
    }

    static Target from(Args args) throws IOException, GeneralSecurityException {
        String url = args.get("url");
        int count = args.integer("count", 1);
        String method = args.get("method", "GET");
        List<String> headers = args.all("header");
        String body = args.get("body", null);
        URI first = URI.create(url.contains("%") ? String.format(url, 0) : url);
        TlsFactory tls = null;
        if ("https".equals(first.getScheme())) {
            Path cert = Path.of(args.get("cert"));
            Path key = Path.of(args.get("key"));
            Path ca = Path.of(args.get("ca"));
            Pem.Managers managers = Pem.managers(cert, key, ca);
            tls = managers::newContext;
        }
        List<byte[]> requests = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            URI uri = URI.create(url.contains("%") ? String.format(url, i) : url);
            String path = uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            paths.add(path);
            requests.add(request(method, path, first.getHost() + ":" + first.getPort(), headers, body));
        }
        return new Target(first.getHost(), first.getPort(), tls, List.copyOf(requests), List.copyOf(paths));
    }

    static byte[] request(String method, String path, String authority, List<String> headers, String body) {
        StringBuilder head = new StringBuilder(256);
        head.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(authority).append("\r\n");
        for (String header : headers) {
            int colon = header.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--header must be Name:value, got " + header);
            }
            head.append(header, 0, colon).append(": ").append(header.substring(colon + 1).trim()).append("\r\n");
        }
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        if (body != null || !"GET".equals(method)) {
            head.append("Content-Length: ").append(content.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] start = head.toString().getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[start.length + content.length];
        System.arraycopy(start, 0, all, 0, start.length);
        System.arraycopy(content, 0, all, start.length, content.length);
        return all;
    }

    HttpConnection connection() {
        return new HttpConnection(host, port, tls);
    }

    /** A connection that cannot resume an earlier TLS session: its handshake costs the server a full one. */
    HttpConnection freshConnection() throws IOException, GeneralSecurityException {
        return new HttpConnection(host, port, tlsFactory == null ? null : tlsFactory.create());
    }
}
