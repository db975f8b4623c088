import type { AttachmentDownloader } from "../attachments/download-attachments";
import type { Config } from "../config";
import type { LifecyclePublisher } from "../lifecycle/events";
import type { TemplateCache } from "../mail/templates";
import type { MailTransport } from "../providers/provider";
import type { SenderProfiles } from "../tenants/sender-profiles";
import type { MailStore } from "./store";

/**
 * What the delivery core works with, built once per instance by the
 * composition root (index.ts); tests and the simulation build their own.
 */
export interface Runtime {
  /** The extension's params, parsed once. @throws ConfigError */
  config(): Config;
  /** The store for a database id. */
  store(database: string): MailStore;
  /** The transport for `config`. @throws ConfigError when it cannot be built */
  transport(config: Config): MailTransport;
  /** Turns a message's URL and `data:` attachments into content, under the address policy. */
  download: AttachmentDownloader;
  /** Compiled templates, kept while the instance is warm. */
  templates: TemplateCache;
  /** Where lifecycle events go. */
  lifecycle: LifecyclePublisher;
  /** Tenants' sender profiles, used when SENDER_PROFILES_COLLECTION is set; a runtime without them refuses such a config. */
  profiles?: SenderProfiles;
}
