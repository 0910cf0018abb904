# Sourced by ab.sh, rss.sh and threads.sh: start_server DIR BINARY NAME PORT [VAR=value...]
# copies the seeded DIR/pristine to DIR/NAME, starts BINARY on it (the pairs go into its
# environment, its output to DIR/NAME.log), waits until it answers, and sets `pid`.
start_server() {
  local dir=$1 binary=$2 name=$3 port=$4
  shift 4
  rm -rf "${dir:?}/$name" && cp -a "$dir/pristine" "$dir/$name"
  env "$@" RUST_LOG=warn "$binary" serve --http 127.0.0.1:"$port" --dir "$dir/$name" \
    > "$dir/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -sf http://127.0.0.1:"$port"/api/health > /dev/null && break
    sleep 0.05
  done
}
