package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.stripe.net.Webhook;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class WebhookSignatureTests {

    private static final String SECRET = "whsec_unitTestSecret3Fg7Hk1Lm";
    private static final byte[] SECRET_BYTES = SECRET.getBytes(StandardCharsets.UTF_8);
    private static final String BODY = "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\"}";

    @Test
    void shouldComputeTheSameHmacAsStripeJava() throws Exception {
        byte[] ours = WebhookSignature.hmac(SECRET_BYTES, 1733572800L, BODY.getBytes(StandardCharsets.UTF_8));
        assertThat(HexFormat.of().formatHex(ours)).isEqualTo(Webhook.Util.computeHmacSha256(SECRET,
                "1733572800." + BODY));
    }

    @Test
    void shouldMatchAnyOneV1EntryAndIgnoreOtherSchemes() throws Exception {
        String good = Webhook.Util.computeHmacSha256(SECRET, "1733572800." + BODY);
        WebhookSignature.Header header = WebhookSignature.parse("t=1733572800,v0=" + good + ",v1=" + "ab".repeat(32)
                + ",v1=" + good);
        assertThat(header.signatures()).hasSize(2);
        assertThat(WebhookSignature.matches(header, BODY.getBytes(StandardCharsets.UTF_8), SECRET_BYTES)).isTrue();
        WebhookSignature.Header v0Only = WebhookSignature.parse("t=1733572800,v1=" + "ab".repeat(32) + ",v0=" + good);
        assertThat(WebhookSignature.matches(v0Only, BODY.getBytes(StandardCharsets.UTF_8), SECRET_BYTES)).isFalse();
    }

    @Test
    void shouldRefuseMalformedHeadersWithWhatIsWrong() {
        assertThatThrownBy(() -> WebhookSignature.parse("v1=" + "ab".repeat(32))).hasMessageContaining("no t=");
        assertThatThrownBy(() -> WebhookSignature.parse("t=1,t=2,v1=" + "ab".repeat(32)))
                .hasMessageContaining("exactly one t=");
        assertThatThrownBy(() -> WebhookSignature.parse("t=1733572800")).hasMessageContaining("no v1 signature");
        assertThatThrownBy(() -> WebhookSignature.parse("t=abc,v1=00")).hasMessageContaining("t=TIMESTAMP");
        assertThatThrownBy(() -> WebhookSignature.parse("garbage")).hasMessageContaining("malformed");
    }
}
