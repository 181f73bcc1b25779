// A UDP relay that impairs what it forwards the way
//   tc qdisc ... netem loss L% delay D ms J ms reorder R%
// does on each direction of a path, for kernels without sch_netem. Runs in
// the router namespace of reachability.sh's set-up (g): the browser sends
// to LISTEN (the router's address the server advertises with --public-ip),
// the relay forwards to UPSTREAM (the server) from a socket of its own on
// BIND, one per browser address, and forwards the answers back.
//
// Per packet and direction, as netem: dropped with probability L; else sent
// at once with probability R (netem's "reorder": those overtake the delayed
// ones); else delayed by D + uniform(-J, +J) ms. The random source is seeded
// (--seed) so a run can be repeated.
//
//   node impair_relay.mjs --listen 10.79.70.1:8080 --upstream 10.79.71.2:8080 \
//        --bind 10.79.71.1 [--loss 5] [--delay 40] [--jitter 10] [--reorder 5] [--seed 1]
//
// Prints "relay ready" once listening and, on SIGTERM, one line per
// direction: IMPAIR up|down packets=N dropped=N immediate=N delayed=N.

import dgram from 'node:dgram';

function parseArgs(argv) {
  const a = { loss: 5, delay: 40, jitter: 10, reorder: 5, seed: 1 };
  for (let i = 2; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['listen', 'upstream', 'bind']) if (!a[k]) throw new Error(`missing --${k}`);
  for (const k of ['loss', 'delay', 'jitter', 'reorder', 'seed']) a[k] = Number(a[k]);
  return a;
}

const hostPort = (s) => { const i = s.lastIndexOf(':'); return [s.slice(0, i), Number(s.slice(i + 1))]; };

// mulberry32: small, seedable, good enough for drop decisions.
function rng(seed) {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const a = parseArgs(process.argv);
const rand = rng(a.seed);
const [lhost, lport] = hostPort(a.listen);
const [uhost, uport] = hostPort(a.upstream);
const counts = {
  up: { packets: 0, dropped: 0, immediate: 0, delayed: 0 },
  down: { packets: 0, dropped: 0, immediate: 0, delayed: 0 },
};

function impair(dir, send) {
  const c = counts[dir];
  c.packets++;
  if (rand() * 100 < a.loss) { c.dropped++; return; }
  if (rand() * 100 < a.reorder) { c.immediate++; send(); return; }
  c.delayed++;
  setTimeout(send, Math.max(0, a.delay + (2 * rand() - 1) * a.jitter));
}

const front = dgram.createSocket('udp4');
const backs = new Map(); // browser "ip:port" -> socket toward the server

front.on('message', (msg, from) => {
  const key = `${from.address}:${from.port}`;
  let back = backs.get(key);
  if (!back) {
    back = dgram.createSocket('udp4');
    back.bind(0, a.bind);
    back.on('message', (m) => impair('down', () => front.send(m, from.port, from.address)));
    back.on('error', (e) => console.error(`relay: upstream socket for ${key}: ${e.message}`));
    backs.set(key, back);
  }
  impair('up', () => back.send(msg, uport, uhost));
});
front.on('error', (e) => { console.error(`relay: ${e.message}`); process.exit(1); });
front.bind(lport, lhost, () => console.log(`relay ready: ${a.listen} -> ${a.upstream} from ${a.bind}, ` +
  `loss ${a.loss}% delay ${a.delay}±${a.jitter} ms reorder ${a.reorder}% (each direction)`));

process.on('SIGTERM', () => {
  for (const [dir, c] of Object.entries(counts)) {
    console.log(`IMPAIR ${dir} packets=${c.packets} dropped=${c.dropped} immediate=${c.immediate} delayed=${c.delayed}`);
  }
  process.exit(0);
});
