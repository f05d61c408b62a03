/**
 * `npx tsx cli/make-icons.ts`: writes the app icons (public/icons/*.png) with Node built-ins only
 * (zlib for the PNG's deflate stream). A light "spark" on the theme colour: the "any" icons fill a
 * rounded square; the maskable one bleeds to the edges with the mark inside the 80% safe zone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const THEME: RGB = [0x1a, 0x56, 0xb0];
const MARK: RGB = [0xff, 0xff, 0xff];
type RGB = [number, number, number];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGBA PNG; `pixel(x, y)` returns the colour and alpha in [0, 1] of the pixel's centre. */
function png(size: number, pixel: (x: number, y: number) => [RGB, number]): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [[r, g, b], a] = pixel((x + 0.5) / size, (y + 0.5) / size);
      raw.set([r, g, b, Math.round(a * 255)], row + 1 + x * 4);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** A four-pointed star (|x|^p + |y|^p ≤ r^p with p < 1) centred at (0.5, 0.5), of radius r. */
function inStar(x: number, y: number, r: number): boolean {
  const p = 0.6;
  return Math.abs(x - 0.5) ** p + Math.abs(y - 0.5) ** p <= r ** p;
}

function inRoundedSquare(x: number, y: number, radius: number): boolean {
  const dx = Math.max(0, Math.abs(x - 0.5) - (0.5 - radius));
  const dy = Math.max(0, Math.abs(y - 0.5) - (0.5 - radius));
  return dx * dx + dy * dy <= radius * radius;
}

const anyIcon = (x: number, y: number): [RGB, number] =>
  inStar(x, y, 0.36) ? [MARK, 1] : inRoundedSquare(x, y, 0.18) ? [THEME, 1] : [THEME, 0];
// Maskable: full bleed, and the mark within the central 80% circle that every mask keeps.
const maskableIcon = (x: number, y: number): [RGB, number] => (inStar(x, y, 0.28) ? [MARK, 1] : [THEME, 1]);

mkdirSync('public/icons', { recursive: true });
writeFileSync('public/icons/icon-192.png', png(192, anyIcon));
writeFileSync('public/icons/icon-512.png', png(512, anyIcon));
writeFileSync('public/icons/icon-maskable-512.png', png(512, maskableIcon));
writeFileSync('public/icons/apple-touch-icon-180.png', png(180, maskableIcon));
console.log('wrote public/icons/icon-192.png, icon-512.png, icon-maskable-512.png, apple-touch-icon-180.png');
