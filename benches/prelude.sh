# Sourced by the benchmark scripts: a release build, a scratch folder that
# is removed on exit with every background process in `pids`, and helpers.
#   bin    the release binary        work   the scratch folder
#   pids   background processes to kill on exit
#   free_port                        prints a free loopback port

cargo build --release --locked -q
bin=$PWD/target/release/feedloom
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
