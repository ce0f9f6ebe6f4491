package io.keybroker.client;

/**
 * The broker refused or could not answer: its RFC 9457 problem document, without any value.
 */
public class KeybrokerException extends RuntimeException {

    private final int status;
    private final String title;
    private final String requestId;

    public KeybrokerException(int status, String title, String detail, String requestId) {
        super(status + " " + title + (detail == null ? "" : ": " + detail)
                + (requestId == null ? "" : " (request " + requestId + ")"));
        this.status = status;
        this.title = title;
        this.requestId = requestId;
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }

    public String requestId() {
        return requestId;
    }
}
