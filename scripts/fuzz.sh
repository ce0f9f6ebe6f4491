#!/usr/bin/env bash
# Fuzzes one target with Jazzer for a while (docs/fuzzing.md). Usage: scripts/fuzz.sh TARGET [DURATION]
#   TARGET    secret-name | secret-path | policy | cert-der | cert-san
#   DURATION  Jazzer's duration syntax, e.g. 90s, 3m, 1h 30m (default 10m)
# A crashing input is written next to the regression inputs (src/test/resources/.../<Class>Inputs/<method>/),
# so the next plain `mvn test` replays it; the growing corpus stays in broker/.cifuzz-corpus/ (not committed).
# The log of the run is kept in broker/target/fuzz-TARGET.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

target="${1:-}"
duration="${2:-10m}"
# Our own classes are instrumented for coverage; the policy target adds SnakeYAML so that the fuzzer is guided
# through the YAML scanner and parser too.
instrument="io.keybroker.**"
case "$target" in
  secret-name) test="io.keybroker.secret.SecretNameFuzzTests#shouldAcceptExactlyTheSpecGrammar" ;;
  secret-path) test="io.keybroker.api.SecretPathFuzzTests#shouldOnlyAcceptNamesThatDecodingCannotChange" ;;
  policy)      test="io.keybroker.policy.PolicyParserFuzzTests#shouldYieldAPolicySetOrErrorsNamingFileLineAndField"
               instrument="io.keybroker.**,org.yaml.snakeyaml.**" ;;
  cert-der)    test="io.keybroker.identity.SpiffeCertificatesFuzzTests#shouldJudgeEveryParsableCertificateByTheSvidRules" ;;
  cert-san)    test="io.keybroker.identity.SpiffeCertificatesFuzzTests#shouldAcceptOnlyLeavesWithOneSpiffeIdFromFuzzedSans" ;;
  *)
    echo "usage: scripts/fuzz.sh secret-name|secret-path|policy|cert-der|cert-san [DURATION, default 10m]" >&2
    exit 2 ;;
esac

mkdir -p broker/target
log="broker/target/fuzz-$target.log"
echo "fuzzing $test for $duration (log: $log)"
start=$(date +%s)
status=0
# jazzer.max_duration overrides @FuzzTest(maxDuration). The JUnit timeout is handed to libFuzzer as its
# per-input limit (an input running longer than 10 s is reported as a hang) while JUnit itself must not time
# out the whole run. A 1 GiB heap turns an allocation sized by the input into an OutOfMemoryError finding.
JAZZER_FUZZ=1 ./mvnw -B -ntp -pl broker test \
  -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
  -Djazzer.max_duration="$duration" -Djazzer.hooks=true -Djazzer.instrument="$instrument" \
  -Djunit.jupiter.execution.timeout.testtemplate.method.default=10s \
  -Djunit.jupiter.execution.timeout.mode=disabled \
  -DargLine=-Xmx1g > "$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))

# libFuzzer's last status line (#runs, cov, ft, corp, exec/s) and its closing summary.
grep -aE '^#[0-9]+' "$log" | tail -1 || true
grep -aE '^Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" || true
grep -aE 'Tests run:.*Fail' "$log" | tail -1 || true
if [ "$status" -ne 0 ]; then
  grep -aE '== Java Exception|FuzzTestFindingException|Test unit written to|artifact_prefix|crash-' "$log" | head -20 || true
  echo "fuzzing $target FOUND A PROBLEM (or failed to run) after ${elapsed}s: see $log" >&2
  exit "$status"
fi
echo "fuzzing $target: no finding in ${elapsed}s"
