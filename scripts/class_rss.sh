#!/bin/bash
# RSS of a classroom server with K students on the training results screen (issue 26,
# item 6). Starts BINARY serve on loopback (no code: loopback only), connects K OpenSSH
# clients in a private tmux server, trains one epoch each on the course images, and prints
# the server RSS idle, with K on the menu, and with K on the results screen.
# usage: scripts/class_rss.sh BINARY K PORT [DATA]
BIN=$1; K=$2; PORT=$3
S=$(mktemp -d)
SOCK=rss$PORT
tmux -L $SOCK kill-server 2>/dev/null
CNN_TUTOR_STATE_DIR=$S $BIN serve --listen 127.0.0.1:$PORT --data "${4:-../shared/data/ms-learn-shapes}" > $S/log 2>&1 &
SRV=$!
sleep 3
rss() { awk '/VmRSS/{print $2}' /proc/$SRV/status; }
echo "idle: $(rss) KB"
tmux -L $SOCK new -d -s m -x 100 -y 30 "sleep 100000"
for i in $(seq 1 $K); do
  tmux -L $SOCK new-window -d -t m -n s$i "ssh -tt -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p $PORT s$i@127.0.0.1"
done
sleep 4
echo "menu x$K: $(rss) KB"
for i in $(seq 1 $K); do
  for j in 1 2 3 4 5 6 7 8; do tmux -L $SOCK send-keys -t m:s$i j; done
  tmux -L $SOCK send-keys -t m:s$i Enter; sleep 0.5; tmux -L $SOCK send-keys -t m:s$i Enter; sleep 0.5
  tmux -L $SOCK send-keys -t m:s$i 1 Enter; sleep 0.3; tmux -L $SOCK send-keys -t m:s$i Enter
done
for t in $(seq 1 300); do
  n=0; for i in $(seq 1 $K); do tmux -L $SOCK capture-pane -p -t m:s$i | grep -q "Training · done" && n=$((n+1)); done
  [ $n -eq $K ] && break; sleep 2
done
sleep 3
echo "results x$K ($n done): $(rss) KB"
tmux -L $SOCK capture-pane -p -t m:s1 | head -5
kill -INT $SRV; sleep 2; kill -9 $SRV 2>/dev/null
tmux -L $SOCK kill-server
