# The seed's usage scenario, run in the guest by `kedr demo` after
# kedr_sample has been loaded for kedr_sample_target and the kedr_alloc
# payload loaded with its trace events enabled (Kedr.Cli/Vm/DemoRun.cs).
insmod /lib/modules/kedr/kedr_sample_target.ko
echo 123456789788 > /dev/cfake0
dd if=/dev/cfake0 ibs=20 count=1
rmmod kedr_sample_target
