import { openBoxes } from './lib/sockets.ts';
const [url, token, n, events] = process.argv.slice(2);
const counts = new Array(Number(n)).fill(0);
let round = 0;
const lat: number[] = [];
await openBoxes(`${url!.replace('http', 'ws')}/graphql`, Array(Number(n)).fill(token), (i, e) => {
  if (e.message.kind !== 'EVIDENCE_REQUESTED') return;
  counts[i]++;
  lat.push(e.receivedAt - Date.parse(e.message.createdAt));
  if (counts.every((c) => c > round)) { round++; process.send!('round'); if (round === Number(events)) { lat.sort((a,b)=>a-b); console.log(`client p50 ${lat[Math.floor(lat.length/2)]} p99 ${lat[Math.floor(lat.length*0.99)]}`); } }
});
process.send!('ready');
