package io.keybroker.secret;

/** A raw secret name that does not follow the naming rules; maps to HTTP 400. */
public class InvalidSecretNameException extends IllegalArgumentException {

    public InvalidSecretNameException(String message) {
        super(message);
    }
}
