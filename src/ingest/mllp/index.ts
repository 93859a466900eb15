export { MllpClient, sendMllp, type MllpClientOptions } from './client.ts';
export { CR, FS, VT, frame, MllpDecoder } from './framing.ts';
export { startMllpListener, type MllpListener, type MllpListenerOptions, type MllpPeer } from './listener.ts';
