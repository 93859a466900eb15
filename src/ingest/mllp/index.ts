export { MllpClient, sendMllp, type MllpClientOptions } from './client.ts';
export { CR, FS, VT, frame, MllpDecoder, type OversizeFrame } from './framing.ts';
export {
  startMllpListener,
  type MllpHandler,
  type MllpListener,
  type MllpListenerOptions,
  type MllpPeer,
  type Oversize,
} from './listener.ts';
