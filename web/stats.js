// voxgate page: the transport in use and the live statistics, from
// getStats() on the WebRTC path and from the WebSocket path's own counters
// (ws_audio.js) after a fallback; s.stats and s.transport are what the
// test hook reports.

import { ui } from './page.js';
import { ms, fmt } from './view.js';

// Bitrates out and in since the last update, from byte counters
// ({ t, out, in }); the first update has none.
function bitrates(s, st, bytes) {
  if (s.prevBytes) {
    const dt = (bytes.t - s.prevBytes.t) / 1000;
    if (dt > 0) {
      st.bitrateOutKbps = (bytes.out - s.prevBytes.out) * 8 / dt / 1000;
      st.bitrateInKbps = (bytes.in - s.prevBytes.in) * 8 / dt / 1000;
    }
  }
  s.prevBytes = bytes;
}

function showBitrates(st) {
  ui.bitrate.textContent = st.bitrateOutKbps === null ? '–'
    : `${fmt(st.bitrateOutKbps, 0)} / ${fmt(st.bitrateInKbps, 0)} kbit/s`;
}

export function showWsTransport(s) {
  const t = s.transport;
  ui.transport.textContent = `${t.label} — ${t.url}, ${+(t.sampleRate / 1000).toFixed(1)} kHz mono`;
  ui.why.textContent = s.why;
}

export function updateWsStats(s) {
  if (!s.alive() || !s.wsa) return;
  const w = s.wsa.stats();
  const now = performance.now();
  const st = {
    rttWsMs: w.rttMs, echoMs: w.echoMs, jitterMs: w.jitterMs,
    packetsSent: w.packetsSent, packetsReceived: w.packetsReceived, dropped: w.dropped,
    playBufferMs: w.playFillMs, underruns: w.underruns, playDroppedMs: w.playDroppedMs,
    rttRtcpMs: null, rttIceMs: null, packetsLost: null, lostAtServer: null,
    bitrateOutKbps: null, bitrateInKbps: null,
  };
  const bytes = { t: now, out: w.bytesSent, in: w.bytesReceived };
  bitrates(s, st, bytes);
  s.stats = st;
  const rtt = [];
  if (st.rttWsMs !== null) rtt.push(`${ms(st.rttWsMs)} (WebSocket ping)`);
  if (st.echoMs !== null && s.mode === 'echo') rtt.push(`${ms(st.echoMs)} (echo)`);
  ui.rtt.textContent = rtt.join(' · ') || '–';
  ui.jitter.textContent = st.jitterMs === null ? '–' : ms(st.jitterMs);
  ui.lost.textContent = st.dropped ? `${st.dropped} frames dropped going out (the socket backed up)` : 'none (TCP retransmits)';
  showBitrates(st);
}

export async function updateStats(s) {
  if (!s.rtcAlive()) return;
  let rep;
  try { rep = await s.pc.getStats(); } catch { return; }
  if (!s.rtcAlive()) return;
  const byId = new Map([...rep.values()].map((r) => [r.id, r]));
  let inb = null, out = null, rinb = null, transport = null, pair = null;
  for (const r of rep.values()) {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') inb = r;
    else if (r.type === 'outbound-rtp' && r.kind === 'audio') out = r;
    else if (r.type === 'remote-inbound-rtp' && r.kind === 'audio') rinb = r;
    else if (r.type === 'transport') transport = r;
  }
  if (transport && transport.selectedCandidatePairId) pair = byId.get(transport.selectedCandidatePairId);
  if (!pair) {
    for (const r of rep.values()) {
      if (r.type === 'candidate-pair' && (r.selected || (r.nominated && r.state === 'succeeded'))) { pair = r; break; }
    }
  }
  if (pair) showTransport(s, pair, byId.get(pair.localCandidateId), byId.get(pair.remoteCandidateId), transport);

  const now = performance.now();
  const st = {
    rttRtcpMs: rinb && rinb.roundTripTime !== undefined ? rinb.roundTripTime * 1000 : null,
    rttIceMs: pair && pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
    jitterMs: inb && inb.jitter !== undefined ? inb.jitter * 1000 : null,
    packetsLost: inb ? inb.packetsLost : null,
    packetsReceived: inb ? inb.packetsReceived : 0,
    packetsSent: out ? out.packetsSent : 0,
    lostAtServer: rinb ? rinb.packetsLost : null,
    bitrateOutKbps: null,
    bitrateInKbps: null,
    audioLevel: inb && inb.audioLevel !== undefined ? inb.audioLevel : null,
  };
  const bytes = { t: now, out: out ? out.bytesSent : 0, in: inb ? inb.bytesReceived : 0 };
  bitrates(s, st, bytes);
  s.stats = st;

  const rtt = [];
  if (st.rttRtcpMs !== null) rtt.push(`${ms(st.rttRtcpMs)} (RTCP)`);
  if (st.rttIceMs !== null) rtt.push(`${ms(st.rttIceMs)} (ICE)`);
  ui.rtt.textContent = rtt.join(' · ') || '–';
  ui.jitter.textContent = st.jitterMs === null ? '–' : ms(st.jitterMs);
  if (s.mode === 'transcribe') { // nothing comes back: what the server reports losing
    ui.lost.textContent = st.lostAtServer === null ? '–' : `${st.lostAtServer} going out`;
  } else {
    ui.lost.textContent = st.packetsLost === null ? '–'
      : `${st.packetsLost} coming back` + (st.lostAtServer !== null ? ` · ${st.lostAtServer} going out` : '');
  }
  showBitrates(st);
}

function showTransport(s, pair, local, remote, transport) {
  if (!local || !remote) return;
  const proto = (local.protocol || '').toLowerCase();
  let label, why;
  if (local.candidateType === 'relay') {
    label = `TURN relay (${(local.relayProtocol || proto).toUpperCase()})`;
    why = 'Media goes through a TURN relay: no direct path to the server was found.';
  } else if (proto === 'tcp') {
    label = 'TCP (ICE-TCP)';
    why = 'UDP did not get through, so media rides the server\'s TCP port (ICE-TCP, RFC 6544). ' +
          'It works where only TCP is allowed; delay grows when packets are lost. Open the UDP port for the best path.';
  } else {
    label = 'UDP';
    why = 'Direct UDP to the server\'s media port: the lowest-delay path.';
  }
  // The browser hides its own address (an mDNS name, or nothing) from a
  // page that has no lasting microphone permission.
  const addr = (c) => `${c.address || c.ip || '(address hidden)'}:${c.port}`;
  const t = {
    label,
    protocol: proto,
    localType: local.candidateType,
    remoteType: remote.candidateType,
    local: addr(local),
    remote: addr(remote),
    tcpType: local.tcpType || null,
    dtlsCipher: transport ? transport.dtlsCipher || null : null,
    srtpCipher: transport ? transport.srtpCipher || null : null,
  };
  s.transport = t;
  ui.transport.textContent = `${label} — browser ${t.local} (${t.localType}) → server ${t.remote} (${t.remoteType})`;
  ui.why.textContent = why + (t.srtpCipher ? ` Encrypted with ${t.srtpCipher}.` : '');
}
