# Sourced by the load scripts (api-load.sh, create-breakdown.sh, versus-python.sh): wrk, the
# todo-server binary to measure and a free loopback port for it.
#
# Sets bin (TODO_SERVER_BIN, or the release build, built here), port, base (its URL) and server_env
# (the settings every measured server runs with: a fixed JWT secret, warnings only, no login rate
# limit in the way, and MALLOC_ARENA_MAX when it is set); defines create_script, signup, backlog,
# wait_up and drop_databases.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/todo/target}"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
if [ -n "${TODO_SERVER_BIN:-}" ]; then
  bin="$TODO_SERVER_BIN"
else
  cargo build --release -q -p todo-server
  bin="$CARGO_TARGET_DIR/release/todo-server"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
server_env=(${MALLOC_ARENA_MAX:+MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX} TODO_ADDR="127.0.0.1:$port"
  TODO_JWT_SECRET="bench-secret-bench-secret-bench-secret" TODO_LOG=warn TODO_AUTH_RATE_PER_MINUTE=100000)

# Writes to $1 the wrk script of the create workload, one typical task per POST, signed with token $2.
create_script() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $2"
wrk.body = '{"title":"Buy groceries","description":"milk and eggs","priority":"high","tags":["home"],"due_date":"2031-06-01T09:00:00Z"}'
LUA
}

# Signs the bench user up on the server at $1 (default: the one measured) and prints its token.
signup() {
  curl -sf "${1:-$base}/api/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"bench password"}' |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])'
}

# The outbox backlog (events committed, not yet relayed) of the server at $1 (default: the one
# measured), from its metrics.
backlog() { curl -sf "${1:-$base}/metrics" | awk '/^todo_outbox_backlog / {print $2}'; }

# Waits up to 20 s for $1 to answer with a success; stops the script if it never does.
wait_up() {
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "nothing answers at $1${2:+ (log: $2)}" >&2
  exit 1
}

# Drops the databases named $2... from the cluster at URL $1, if they exist (for the exit traps).
drop_databases() {
  local cluster=$1 db; shift
  for db in "$@"; do psql "$cluster" -qc "drop database if exists $db with (force)" >/dev/null 2>&1; done
  return 0
}
