package io.keybroker.policy;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Policy files ({@code keybroker.policy.*}).
 *
 * @param dir the directory of policy YAML files; read at start and re-read on change
 * @param reloadInterval how often the directory is checked for changes (changes take effect within this
 *     interval plus parse time; keep it under 5s)
 * @param unknownIdentityRateLimit the rate limit ({@code COUNT/UNIT}, like a policy's {@code rateLimit}) of each
 *     identity that has no policy entry: all its requests are denied and audited, and this bounds how fast it
 *     can make them; {@code none} for no limit
 */
@ConfigurationProperties("keybroker.policy")
public record PolicyProperties(Path dir, @DefaultValue("2s") Duration reloadInterval,
        @DefaultValue("10/s") String unknownIdentityRateLimit) {
}
