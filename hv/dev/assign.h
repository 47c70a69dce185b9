/* Device assignment: the one physical PCI function eli gives its guest, seen by
 * the guest through a virtual configuration space (vpci), its BARs mapped through
 * nested paging, its MSI and MSI-X programmed by eli alone with the physical
 * vectors the ELI vector map chose. */
#ifndef ELI_DEV_ASSIGN_H
#define ELI_DEV_ASSIGN_H
#include "arch/x86/pci.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASSIGN_GUEST_SLOT 3            /* the device appears at 00:03.0 */
#define ASSIGN_ECAM_BASE 0xB0000000ull /* the guest's ECAM window (bus 0), as on q35 */
#define ASSIGN_ECAM_SIZE 0x100000ull

struct guest;

struct acpi;

/* Looks for the IOMMU (logging what it found) and records whether a device may be
 * assigned without one (option unsafe-no-iommu), and whether the guest was told its RAM's
 * host address (unsafe-dma-offset, refused where an IOMMU is). Call before assign_device. */
void assign_iommu_probe(const struct acpi *acpi, bool unsafe_no_iommu, bool unsafe_dma_offset);

/* Takes the function at bdf for the guest: first confines its DMA to the guest's RAM
 * and its interrupts to the entries eli writes through the IOMMU; without an IOMMU,
 * refuses (-EPERM) unless unsafe-no-iommu was given. err names what went wrong. */
int assign_device(struct guest *g, pci_bdf_t bdf, char *err, size_t errlen);
/* The guest's PCI bus without any device (host bridge only), for ports and ECAM. */
void assign_bus_only(struct guest *g);

/* At the end of a run: reads the IOMMU's event log and logs what it holds. */
void assign_run_end(void);

/* CF8/CFC ports: whether port belongs to PCI configuration, and the access. */
bool assign_owns_port(uint16_t port, unsigned size);
void assign_port_access(uint16_t port, unsigned size, bool in, uint32_t *val);

#endif
